#!/usr/bin/env python3
"""Verify an Enclave audit evidence pack offline, without the portal or its database.

    python3 verify_pack.py evidence.zip [--trust-key FINGERPRINT ...]

Needs Python 3.10+ and the ``cryptography`` package, nothing else. It proves that the events
in ``events.jsonl`` are an unbroken piece of Enclave's hash-chained audit trail, anchored to
checkpoints signed with Ed25519, and complete for the period the pack covers:

1. every file matches the SHA-256 in ``manifest.json`` (and the manifest's signature);
2. every checkpoint carries a valid signature by a key whose record in ``keys/`` covers the
   checkpoint's time, and each links to the previous one by digest;
3. every event's hash is recomputed — sha256(prev_hash + canonical JSON of the event) —
   and links to the one before, from the pack's first event to its last;
4. wherever a checkpoint anchors a sequence number in the pack, the recomputed hash equals
   the signed one, and the last event is exactly the last checkpoint's anchor: nobody can
   change, add, drop or reorder an event without breaking a signature they cannot forge;
5. the pack starts with an event from before the period (or with the chain's first event)
   and ends at a checkpoint at or after the period; every event whose time lies in the
   period is flagged so, and the filter flags are recomputed.

Trust rests on the signing keys: compare the fingerprints printed (or pass them with
``--trust-key``) with those your organisation published when the keys were introduced.
Exit status 0 means verified, 1 means not (the reason is printed), 2 means a usage error.
This file is the same code in every pack; it imports nothing from Enclave.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import hashlib
import itertools
import json
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACK_FORMAT = "enclave-evidence-pack/1"
CHECKPOINT_FORMAT = "enclave-audit-checkpoint/1"
KEY_FORMAT = "enclave-audit-key/1"
MANIFEST = "manifest.json"
MANIFEST_SIGNATURE = "manifest.sig.json"
EVENTS = "events.jsonl"
GENESIS = "0" * 64
# The fields an event's hash covers (everything but prev_hash and hash), as the portal hashes them.
PAYLOAD_KEYS = (
    "seq", "at", "actor_id", "actor_label", "actor_roles", "actor_ip", "user_agent", "action", "target_type",
    "target_id", "target_display", "outcome", "details", "request_id",
)  # fmt: skip
EVENT_KEYS = frozenset((*PAYLOAD_KEYS, "prev_hash", "hash", "pack"))


class Failure(Exception):
    """The pack does not prove what it claims; the message says where and why."""


def canonical(data: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 kept as is: the text that is hashed and signed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash: str, event: dict[str, Any]) -> str:
    payload = {key: event[key] for key in PAYLOAD_KEYS}
    return hashlib.sha256((prev_hash + canonical(payload)).encode("utf-8")).hexdigest()


def matches(event: dict[str, Any], *, dataset: str = "", user: str = "") -> bool:
    """Whether an event is about ``dataset`` and ``user`` (each only when given).

    About a dataset: its details name it (``details.dataset``: requests, decisions, grants)
    or it targets the dataset itself (by id, name, or slug before/after a change). About a
    user: the user acted, requested (``details.requester``) or is the target.
    """
    raw = event.get("details")
    details: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if dataset and not _about_dataset(event, details, dataset):
        return False
    return not user or _about_user(event, details, user)


def _about_dataset(event: dict[str, Any], details: dict[str, Any], dataset: str) -> bool:
    if details.get("dataset") == dataset:
        return True
    if event.get("target_type") != "approvals.dataset":
        return False
    if dataset in (event.get("target_id"), event.get("target_display")):
        return True
    snapshots = [details.get(k) for k in ("before", "after")]
    return any(isinstance(s, dict) and s.get("slug") == dataset for s in snapshots)


def _about_user(event: dict[str, Any], details: dict[str, Any], user: str) -> bool:
    if event.get("actor_label") == user or details.get("requester") == user:
        return True
    return event.get("target_type") == "portal.user" and user in (event.get("target_id"), event.get("target_display"))


# --- reading the pack (a zip, or the directory it was unpacked into) ---------------------------------


class PackFiles:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip = zipfile.ZipFile(path) if path.is_file() else None

    def names(self) -> list[str]:
        if self._zip is not None:
            return sorted(n for n in self._zip.namelist() if not n.endswith("/"))
        return sorted(str(p.relative_to(self.path)).replace("\\", "/") for p in self.path.rglob("*") if p.is_file())

    def read(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(name)
        return (self.path / name).read_bytes()

    def lines(self, name: str) -> Iterator[bytes]:
        if self._zip is not None:
            with self._zip.open(name) as stream:
                yield from stream
        else:
            with (self.path / name).open("rb") as stream:
                yield from stream


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Failure(f"{what} is not valid JSON: {exc}") from exc


# --- keys and checkpoints ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    key_id: str
    public_key: bytes
    not_before: str


@dataclass(frozen=True)
class Checkpoint:
    number: int
    seq: int
    hash: str
    at: str
    prev_checkpoint: str
    key_id: str
    digest: str


def verify_ed25519(public_key: bytes, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def load_keys(files: PackFiles) -> list[Key]:
    keys = []
    for name in files.names():
        if not name.startswith("keys/"):
            continue
        doc = _json(files.read(name), name)
        try:
            if doc["format"] != KEY_FORMAT or doc["algorithm"] != "Ed25519":
                raise Failure(f"{name}: not an Ed25519 key record of format {KEY_FORMAT}")
            public_key = base64.b64decode(doc["public_key"], validate=True)
            key = Key(str(doc["key_id"]), public_key, str(doc["not_before"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise Failure(f"{name}: malformed key record ({exc})") from exc
        if len(public_key) != 32 or hashlib.sha256(public_key).hexdigest() != key.key_id:
            raise Failure(f"{name}: the key id is not the SHA-256 fingerprint of the public key")
        keys.append(key)
    if not keys:
        raise Failure("the pack holds no signing keys (keys/)")
    return sorted(keys, key=lambda k: k.not_before)


def key_at(keys: list[Key], key_id: str, at: str, what: str) -> Key:
    """The key record in force at ``at``; it must be ``key_id`` (a key signs from its record's
    not_before until the next record's)."""
    index = bisect.bisect_right([k.not_before for k in keys], at) - 1
    if index >= 0 and keys[index].key_id == key_id:
        return keys[index]
    if any(k.key_id == key_id for k in keys):
        raise Failure(f"{what} is signed by key {key_id[:16]}… outside that key's validity")
    raise Failure(f"{what} is signed by key {key_id[:16]}…, which is not in the key history")


def load_checkpoints(files: PackFiles, keys: list[Key]) -> list[Checkpoint]:
    checkpoints = []
    for name in files.names():
        if not name.startswith("checkpoints/"):
            continue
        doc = _json(files.read(name), name)
        try:
            body = doc["body"]
            signature = base64.b64decode(doc["signature"], validate=True)
            if body["format"] != CHECKPOINT_FORMAT:
                raise Failure(f"{name}: not a checkpoint of format {CHECKPOINT_FORMAT}")
            checkpoint = Checkpoint(
                int(body["number"]), int(body["seq"]), str(body["hash"]), str(body["at"]),
                str(body["prev_checkpoint"]), str(body["key_id"]),
                hashlib.sha256(canonical(body).encode("utf-8")).hexdigest(),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise Failure(f"{name}: malformed checkpoint ({exc})") from exc
        what = f"checkpoint {checkpoint.number} ({name})"
        key = key_at(keys, checkpoint.key_id, checkpoint.at, what)
        if not verify_ed25519(key.public_key, signature, canonical(body).encode("utf-8")):
            raise Failure(f"{what}: BAD SIGNATURE — it was not signed by key {key.key_id[:16]}… as it was stored")
        checkpoints.append(checkpoint)
    if not checkpoints:
        raise Failure("the pack holds no checkpoints (checkpoints/): its events are not anchored")
    checkpoints.sort(key=lambda c: c.number)
    for previous, current in itertools.pairwise(checkpoints):
        if current.number != previous.number + 1:
            raise Failure(f"checkpoint {previous.number + 1} is missing between {previous.number} and {current.number}")
        if current.prev_checkpoint != previous.digest:
            raise Failure(f"checkpoint {current.number} does not link to checkpoint {previous.number}")
        if current.seq < previous.seq or current.at < previous.at:
            raise Failure(f"checkpoint {current.number} goes backwards from checkpoint {previous.number}")
    return checkpoints


# --- the manifest -----------------------------------------------------------------------------------


def check_manifest(files: PackFiles) -> dict[str, Any]:
    manifest = _json(files.read(MANIFEST), MANIFEST)
    if manifest.get("format") != PACK_FORMAT:
        raise Failure(f"not an evidence pack of format {PACK_FORMAT}")
    listed: dict[str, str] = manifest.get("files", {})
    present = set(files.names()) - {MANIFEST, MANIFEST_SIGNATURE}
    if present - set(listed):
        raise Failure(f"files not in the manifest: {', '.join(sorted(present - set(listed)))}")
    if set(listed) - present:
        raise Failure(f"files in the manifest but missing: {', '.join(sorted(set(listed) - present))}")
    for name in sorted(listed):
        digest = hashlib.sha256()
        for chunk in files.lines(name):
            digest.update(chunk)
        if digest.hexdigest() != listed[name]:
            raise Failure(f"{name}: SHA-256 differs from the manifest (the file was changed)")
    return dict(manifest)


def check_manifest_signature(files: PackFiles, keys: list[Key]) -> str:
    if MANIFEST_SIGNATURE not in files.names():
        raise Failure("the manifest is not signed (manifest.sig.json missing)")
    doc = _json(files.read(MANIFEST_SIGNATURE), MANIFEST_SIGNATURE)
    try:
        key_id = str(doc["key_id"])
        signature = base64.b64decode(doc["signature"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise Failure(f"{MANIFEST_SIGNATURE}: malformed ({exc})") from exc
    key = next((k for k in keys if k.key_id == key_id), None)
    if key is None or not verify_ed25519(key.public_key, signature, files.read(MANIFEST)):
        raise Failure("the manifest's signature is not valid (the manifest was changed)")
    return key_id


# --- the events -------------------------------------------------------------------------------------


@dataclass
class EventsSeen:
    first_seq: int = 0
    last_seq: int = 0
    first_prev_hash: str = ""
    last_hash: str = ""
    count: int = 0
    period_first: int = 0
    period_last: int = 0
    in_period: int = 0
    matching: int = 0
    anchored: int = 0


def check_events(files: PackFiles, manifest: dict[str, Any], checkpoints: list[Checkpoint]) -> EventsSeen:
    period = manifest["period"]
    since, until = str(period["since"]), str(period["until"])
    flt = manifest.get("filter", {})
    dataset, user = str(flt.get("dataset", "")), str(flt.get("user", ""))
    anchors = {c.seq: c for c in checkpoints}
    seen = EventsSeen()
    expected_prev: str | None = None
    for number, line in enumerate(files.lines(EVENTS), start=1):
        event = _json(line, f"{EVENTS} line {number}")
        if not isinstance(event, dict) or set(event) != EVENT_KEYS:
            raise Failure(f"{EVENTS} line {number}: not an event with exactly the fields {sorted(EVENT_KEYS)}")
        seq = event["seq"]
        where = f"event seq {seq} ({EVENTS} line {number})"
        if seen.count == 0:
            seen.first_seq, seen.first_prev_hash = seq, event["prev_hash"]
            if seq == 1 and event["prev_hash"] != GENESIS:
                raise Failure(f"{where}: the first event of the chain must link to the genesis hash")
        elif seq != seen.last_seq + 1:
            raise Failure(f"{where}: expected seq {seen.last_seq + 1} (an event is missing or out of order)")
        elif event["prev_hash"] != expected_prev:
            raise Failure(f"{where}: prev_hash does not link to the previous event's hash")
        recomputed = event_hash(event["prev_hash"], event)
        if recomputed != event["hash"]:
            raise Failure(f"{where}: content does not match its hash (the event was changed)")
        checkpoint = anchors.get(seq)
        if checkpoint is not None:
            if checkpoint.hash != recomputed:
                raise Failure(f"{where}: does not match the hash signed in checkpoint {checkpoint.number}")
            seen.anchored += 1
        in_period = since <= str(event["at"]) < until
        if seen.count == 0 and seq > 1 and in_period:
            raise Failure(f"{where}: the pack starts inside the period, so earlier events of the period may be missing")
        flags = event["pack"]
        if not isinstance(flags, dict) or flags.get("in_period") is not in_period:
            raise Failure(f"{where}: its in-period flag is wrong")
        if flags.get("matches") is not (in_period and matches(event, dataset=dataset, user=user)):
            raise Failure(f"{where}: its filter flag is wrong")
        if in_period:
            seen.period_first = seen.period_first or seq
            seen.period_last = seq
            seen.in_period += 1
            seen.matching += bool(flags["matches"])
        seen.last_seq, seen.last_hash, expected_prev = seq, recomputed, recomputed
        seen.count += 1
    if seen.count == 0:
        raise Failure(f"{EVENTS} holds no events")
    end = checkpoints[-1]
    if end.seq != seen.last_seq:
        raise Failure(f"the events end at seq {seen.last_seq}, not at the last checkpoint's anchor (seq {end.seq})")
    inside = [c for c in checkpoints if seen.first_seq <= c.seq <= seen.last_seq]
    if seen.anchored != len(inside):
        raise Failure("a checkpoint inside the events' range was not matched")
    return seen


def verify(path: Path, trusted: list[str]) -> list[str]:
    files = PackFiles(path)
    manifest = check_manifest(files)
    keys = load_keys(files)
    signer = check_manifest_signature(files, keys)
    checkpoints = load_checkpoints(files, keys)
    relied_on = sorted({c.key_id for c in checkpoints} | {signer})
    if trusted:
        untrusted = [k for k in relied_on if not any(len(t) >= 16 and k.startswith(t.lower()) for t in trusted)]
        if untrusted:
            raise Failure(f"signed by keys you did not trust: {', '.join(untrusted)}")
    seen = check_events(files, manifest, checkpoints)
    declared = manifest.get("events", {})
    actual = {"first_seq": seen.period_first, "last_seq": seen.period_last, "in_period": seen.in_period,
              "matching": seen.matching}  # fmt: skip
    if {k: declared.get(k) for k in actual} != actual:
        raise Failure(f"the manifest declares {declared}, but the events show {actual}")
    end = checkpoints[-1]
    flt = ", ".join(f"{k}={v}" for k, v in manifest.get("filter", {}).items() if v) or "none"
    period = manifest["period"]
    return [
        f"VERIFIED: evidence pack for {period['since']} – {period['until']} (filter: {flt})",
        f"  complete for the period: events {seen.period_first}–{seen.period_last} ({seen.in_period} events, "
        f"{seen.matching} matching the filter); the pack starts "
        + ("with the chain's first event" if seen.first_seq == 1 else "with an event from before the period")
        + " and ends at a signed checkpoint",
        f"  unbroken chain from seq {seen.first_seq} (prev_hash {seen.first_prev_hash[:16]}…) to seq {seen.last_seq}, "
        "every hash recomputed",
        f"  anchored: seq {end.seq} has the hash signed in checkpoint {end.number} ({end.at}); "
        f"{len(checkpoints)} checkpoint(s) checked, {seen.anchored} matched inside the events",
        "  signing keys relied on: " + ", ".join(relied_on)
        + ("" if trusted else "\n  (compare these fingerprints with the ones your organisation published, or pass "
           "--trust-key)"),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an Enclave audit evidence pack offline.")
    parser.add_argument("pack", type=Path, help="the pack (.zip) or the directory it was unpacked into")
    parser.add_argument(
        "--trust-key", action="append", default=[], metavar="FINGERPRINT",
        help="a signing key fingerprint (at least 16 hex digits) to require; repeat for several",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not args.pack.exists():
        parser.error(f"no such pack: {args.pack}")
    try:
        lines = verify(args.pack, args.trust_key)
    except Failure as exc:
        print(f"FAILED: {exc}")
        return 1
    except (zipfile.BadZipFile, OSError, KeyError) as exc:
        print(f"FAILED: the pack cannot be read: {exc!r}")
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

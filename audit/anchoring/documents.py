"""The two kinds of document kept outside the database, and their exact bytes.

A **checkpoint** states that the chain's event ``seq`` had hash ``hash`` at time ``at``; it
names the previous checkpoint by the SHA-256 of that checkpoint's signed body, so
checkpoints form a chain of their own, and the key that signed it by its fingerprint::

    {"body": {"at": "...Z", "format": "enclave-audit-checkpoint/1", "hash": "<64 hex>",
              "key_id": "<64 hex>", "number": 7, "prev_checkpoint": "<64 hex>", "seq": 1234},
     "signature": "<base64 Ed25519 signature of canonical(body)>"}

A **key record** introduces a public key from ``not_before``; a key signs validly from its
record's ``not_before`` until the next record's (key history, exported in evidence packs).

``canonical`` is JSON with sorted keys, no whitespace, UTF-8: the bytes that are signed and
hashed. ``verify_pack.py`` re-implements this module with the standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from audit.anchoring.signing import Signer, key_id_of, verify_signature
from audit.hashing import GENESIS, format_at

CHECKPOINT_FORMAT = "enclave-audit-checkpoint/1"
KEY_FORMAT = "enclave-audit-key/1"
CHECKPOINT_PREFIX = "checkpoints/"
KEY_PREFIX = "keys/"


class DocumentError(ValueError):
    """A stored document that is not well formed."""


def canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def checkpoint_name(number: int) -> str:
    """``checkpoints/000000000042.json``: names sort in checkpoint order."""
    return f"{CHECKPOINT_PREFIX}{number:012d}.json"


def key_record_name(not_before: str, key_id: str) -> str:
    stamp = not_before.replace("-", "").replace(":", "").replace(".", "")
    return f"{KEY_PREFIX}{stamp}-{key_id[:16]}.json"


@dataclass(frozen=True)
class Checkpoint:
    number: int
    seq: int
    hash: str
    at: str
    prev_checkpoint: str
    key_id: str
    signature: bytes
    raw: bytes = b""

    @property
    def body(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT, "number": self.number, "seq": self.seq, "hash": self.hash, "at": self.at,
            "prev_checkpoint": self.prev_checkpoint, "key_id": self.key_id,
        }  # fmt: skip

    @property
    def digest(self) -> str:
        """What the next checkpoint's ``prev_checkpoint`` must be."""
        return hashlib.sha256(canonical(self.body)).hexdigest()

    @property
    def label(self) -> str:
        return f"checkpoint {self.number} (seq {self.seq}, {self.at})"

    def encode(self) -> bytes:
        return canonical({"body": self.body, "signature": base64.b64encode(self.signature).decode()}) + b"\n"

    def signed_by(self, public_key: bytes) -> bool:
        return verify_signature(public_key, self.signature, canonical(self.body))


def sign_checkpoint(
    signer: Signer, *, number: int, seq: int, digest: str, at: datetime, previous: Checkpoint | None
) -> Checkpoint:
    unsigned = Checkpoint(
        number=number, seq=seq, hash=digest, at=format_at(at),
        prev_checkpoint=previous.digest if previous is not None else GENESIS, key_id=signer.key_id, signature=b"",
    )  # fmt: skip
    signed = replace(unsigned, signature=signer.sign(canonical(unsigned.body)))
    return replace(signed, raw=signed.encode())


def parse_checkpoint(raw: bytes) -> Checkpoint:
    try:
        doc = json.loads(raw)
        body = doc["body"]
        if body.get("format") != CHECKPOINT_FORMAT:
            raise DocumentError(f"unknown checkpoint format {body.get('format')!r}")
        return Checkpoint(
            number=int(body["number"]), seq=int(body["seq"]), hash=str(body["hash"]), at=str(body["at"]),
            prev_checkpoint=str(body["prev_checkpoint"]), key_id=str(body["key_id"]),
            signature=base64.b64decode(doc["signature"], validate=True), raw=raw,
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise DocumentError(f"not a checkpoint: {exc}") from exc


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    public_key: bytes
    not_before: str
    algorithm: str = "Ed25519"
    raw: bytes = b""

    def encode(self) -> bytes:
        doc = {
            "format": KEY_FORMAT, "key_id": self.key_id, "algorithm": self.algorithm,
            "public_key": base64.b64encode(self.public_key).decode(), "not_before": self.not_before,
        }  # fmt: skip
        return canonical(doc) + b"\n"

    @property
    def name(self) -> str:
        return key_record_name(self.not_before, self.key_id)


def key_record_for(signer: Signer, at: datetime) -> KeyRecord:
    record = KeyRecord(signer.key_id, signer.public_key_bytes(), format_at(at), signer.algorithm)
    return replace(record, raw=record.encode())


def parse_key_record(raw: bytes) -> KeyRecord:
    try:
        doc = json.loads(raw)
        if doc.get("format") != KEY_FORMAT:
            raise DocumentError(f"unknown key record format {doc.get('format')!r}")
        public_key = base64.b64decode(doc["public_key"], validate=True)
        record = KeyRecord(str(doc["key_id"]), public_key, str(doc["not_before"]), str(doc["algorithm"]), raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise DocumentError(f"not a key record: {exc}") from exc
    if record.algorithm != "Ed25519" or len(public_key) != 32:
        raise DocumentError("key record is not an Ed25519 public key")
    if key_id_of(public_key) != record.key_id:
        raise DocumentError("key record's key id is not the fingerprint of its public key")
    return record

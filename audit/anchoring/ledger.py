"""Reading the anchors back: every key record and checkpoint in a sink, checked as a whole.

The ledger is trusted only as far as it checks out: each checkpoint must parse, carry a valid
Ed25519 signature by a key whose record covers its time, follow the previous checkpoint by
number, link to it by digest, and never move the chain's tip backwards. Whatever fails is a
*problem* to report; only checkpoints with a valid signature anchor the chain.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from audit.anchoring.documents import (
    CHECKPOINT_PREFIX,
    KEY_PREFIX,
    Checkpoint,
    DocumentError,
    KeyRecord,
    checkpoint_name,
    parse_checkpoint,
    parse_key_record,
)
from audit.anchoring.sinks import Sink, SinkEntry
from audit.hashing import GENESIS


@dataclass
class Ledger:
    keys: list[KeyRecord] = field(default_factory=list)  # by not_before
    checkpoints: list[Checkpoint] = field(default_factory=list)  # validly signed, by number
    problems: list[str] = field(default_factory=list)
    read: int = 0  # checkpoints read from the sink

    @property
    def last(self) -> Checkpoint | None:
        return self.checkpoints[-1] if self.checkpoints else None

    def key_for(self, checkpoint: Checkpoint) -> tuple[KeyRecord | None, str]:
        """The key record that makes ``checkpoint``'s signature count, or why none does."""
        starts = [k.not_before for k in self.keys]
        index = bisect.bisect_right(starts, checkpoint.at) - 1
        if index >= 0 and self.keys[index].key_id == checkpoint.key_id:
            return self.keys[index], ""
        if any(k.key_id == checkpoint.key_id for k in self.keys):
            return None, f"signed by key {checkpoint.key_id[:16]}… outside that key's validity"
        return None, f"signed by unknown key {checkpoint.key_id[:16]}…"


def load_keys(sink: Sink, ledger: Ledger) -> None:
    for entry in sink.entries(KEY_PREFIX):
        _note_extra_versions(entry, ledger)
        try:
            ledger.keys.append(parse_key_record(sink.read(entry)))
        except DocumentError as exc:
            ledger.problems.append(f"key record {entry.name}: {exc}")
    ledger.keys.sort(key=lambda k: k.not_before)


def load_ledger(sink: Sink) -> Ledger:
    """Every key and checkpoint in ``sink``, checked (one read per document)."""
    ledger = Ledger()
    load_keys(sink, ledger)
    previous: Checkpoint | None = None
    expected_number = 1
    for entry in sink.entries(CHECKPOINT_PREFIX):
        _note_extra_versions(entry, ledger)
        ledger.read += 1
        try:
            checkpoint = parse_checkpoint(sink.read(entry))
        except DocumentError as exc:
            ledger.problems.append(f"{entry.name}: {exc}")
            expected_number += 1
            previous = None
            continue
        if entry.name != checkpoint_name(checkpoint.number):
            ledger.problems.append(f"{entry.name} holds checkpoint {checkpoint.number}: stored under the wrong name")
            continue
        if checkpoint.number > expected_number:
            last_missing = checkpoint.number - 1
            missing = f"{expected_number}" + (f"–{last_missing}" if last_missing > expected_number else "")
            ledger.problems.append(f"checkpoint {missing} missing from the sink")
        signed, problem = check_checkpoint(ledger, checkpoint, previous)
        if problem:
            ledger.problems.append(problem)
        if signed:
            ledger.checkpoints.append(checkpoint)
        previous = checkpoint
        expected_number = checkpoint.number + 1
    return ledger


def check_checkpoint(ledger: Ledger, checkpoint: Checkpoint, previous: Checkpoint | None) -> tuple[bool, str]:
    """Whether ``checkpoint`` is validly signed, and why it is not valid after ``previous``
    ("" when it is)."""
    key, why = ledger.key_for(checkpoint)
    if key is None:
        return False, f"{checkpoint.label}: {why}"
    if not checkpoint.signed_by(key.public_key):
        return False, f"{checkpoint.label}: bad signature (key {checkpoint.key_id[:16]}…)"
    return True, _link_problem(checkpoint, previous)


def _link_problem(checkpoint: Checkpoint, previous: Checkpoint | None) -> str:
    if previous is None:
        if checkpoint.number == 1 and checkpoint.prev_checkpoint != GENESIS:
            return f"{checkpoint.label}: the first checkpoint must not name a predecessor"
        return ""
    if previous.number == checkpoint.number - 1 and checkpoint.prev_checkpoint != previous.digest:
        return f"{checkpoint.label}: does not link to checkpoint {previous.number} (the checkpoint chain is broken)"
    if checkpoint.seq < previous.seq:
        return f"{checkpoint.label}: anchors an earlier seq than checkpoint {previous.number} (seq {previous.seq})"
    if checkpoint.at < previous.at:
        return f"{checkpoint.label}: is dated before checkpoint {previous.number} ({previous.at})"
    return ""


def _note_extra_versions(entry: SinkEntry, ledger: Ledger) -> None:
    if entry.extra_versions:
        ledger.problems.append(
            f"{entry.name}: {entry.extra_versions} later version(s) written over the locked original "
            "(ignored: the original is used)"
        )

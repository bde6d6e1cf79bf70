"""Verifying the trail against its external anchors.

The hash chain alone proves that the rows agree with each other; a superuser who rewrites
every row after a forged one, recomputing each hash, keeps them agreeing. The signed
checkpoints say what the chain's hash *was* at each anchored sequence number, so such a
rewrite fails at the first checkpoint whose (seq, hash) no longer matches; a trail that
ends before the last checkpoint's seq lost its tail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from audit.anchoring.documents import Checkpoint
from audit.anchoring.ledger import load_ledger
from audit.anchoring.sinks import Sink, SinkError, get_sink
from audit.verification import ChainBreak, VerifyResult, verify_chain


@dataclass(frozen=True)
class AnchoredVerification:
    chain: VerifyResult
    sink: str  # "" when anchoring is off
    checkpoints_read: int = 0
    consistent_with: Checkpoint | None = None  # the newest checkpoint the walk confirmed
    problems: tuple[str, ...] = ()  # checkpoint problems and a truncated tail

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems

    @property
    def checked(self) -> int:
        return self.chain.checked

    @property
    def broken(self) -> ChainBreak | None:
        return self.chain.broken

    @property
    def rate(self) -> float:
        return self.chain.rate

    @property
    def seconds(self) -> float:
        return self.chain.seconds

    def as_dict(self) -> dict[str, Any]:
        anchored = self.consistent_with
        return {
            **self.chain.as_dict(),
            "ok": self.ok,
            "anchors": {
                "sink": self.sink,
                "checkpoints_read": self.checkpoints_read,
                "checkpoints_matched": self.chain.anchors_matched,
                "consistent_with": (
                    {"number": anchored.number, "seq": anchored.seq, "at": anchored.at, "key_id": anchored.key_id}
                    if anchored is not None
                    else None
                ),
                "problems": list(self.problems),
            },
        }

    def report(self) -> list[str]:
        """The human verdict, one finding per line (what ``manage.py audit verify`` prints)."""
        lines = []
        chain = self.chain
        if chain.ok:
            lines.append(f"chain intact up to seq {chain.last_seq or 0} ({chain.checked} events checked)")
        else:
            lines.append(str(chain.broken))
        if not self.sink:
            lines.append("no external anchor configured (ENCLAVE_AUDIT_ANCHOR_SINK=none): only the chain was checked")
            return lines
        anchored = self.consistent_with
        if anchored is not None:
            lines.append(
                f"consistent with checkpoint {anchored.number} (seq {anchored.seq}, {anchored.at}, "
                f"key {anchored.key_id[:16]}…); {chain.anchors_matched} checkpoint(s) matched, "
                f"{self.checkpoints_read} read from {self.sink}"
            )
            if chain.ok and chain.last_seq is not None and chain.last_seq > anchored.seq:
                lines.append(f"{chain.last_seq - anchored.seq} newer event(s) not yet anchored")
        elif chain.ok:
            lines.append(f"no checkpoint anchors this range yet ({self.checkpoints_read} read from {self.sink})")
        lines.extend(self.problems)
        return lines


def verify_anchored(from_seq: int = 1, *, fast: bool | None = None, sink: Sink | None = None) -> AnchoredVerification:
    """Verify the chain from ``from_seq`` and every external checkpoint against it."""
    if sink is None:
        try:
            sink = get_sink()
        except (ImproperlyConfigured, SinkError) as exc:
            chain = verify_chain(from_seq, fast=fast)
            return AnchoredVerification(chain, "unavailable", problems=(f"the anchors cannot be reached: {exc}",))
    if sink is None:
        return AnchoredVerification(verify_chain(from_seq, fast=fast), "")
    try:
        ledger = load_ledger(sink)
    except (SinkError, OSError) as exc:
        chain = verify_chain(from_seq, fast=fast)
        return AnchoredVerification(chain, sink.describe(), problems=(f"the checkpoints could not be read: {exc}",))
    usable = [c for c in ledger.checkpoints if c.seq >= max(from_seq, 1)]
    chain = verify_chain(from_seq, fast=fast, anchors=[(c.seq, c.hash, c.label) for c in usable])
    problems = list(ledger.problems)
    consistent = usable[chain.anchors_matched - 1] if chain.anchors_matched else None
    last = ledger.last
    tip = chain.last_seq if chain.last_seq is not None else from_seq - 1
    if chain.ok and last is not None and last.seq > tip:
        problems.append(
            f"truncated tail: {last.label} anchors seq {last.seq}, but the trail ends at seq {tip} "
            f"(events {tip + 1}–{last.seq} were removed)"
        )
    return AnchoredVerification(chain, sink.describe(), ledger.read, consistent, tuple(problems))

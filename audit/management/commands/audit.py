"""``manage.py audit verify [--from SEQ] [--expect-tip SEQ:HASH]``,
``manage.py audit export --since --until [--actor] [--action] [--target TYPE:ID] --format jsonl|csv [--output FILE]``,
``manage.py audit checkpoint``, ``manage.py audit evidence --since --until [--dataset] [--user] --out PACK.zip``
and ``manage.py audit keygen --out KEY.pem``.

``verify`` proves the trail's integrity against the signed external checkpoints and exits
non-zero (status 1) at the first broken link, rewritten anchor, truncated tail or bad
checkpoint. ``export`` streams matching events in constant memory (``audit.exported``).
``checkpoint`` signs the tip into the write-once sink now (``audit.checkpointed``).
``evidence`` writes a pack an auditor verifies offline (``audit.evidence_pack_created``).
``keygen`` creates a new Ed25519 signing key file (a rotation starts when it is configured).
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.actions import Action, Outcome
from audit.anchoring.packs import EvidencePackError
from audit.anchoring.services import CheckpointFailed, create_checkpoint, create_evidence_pack
from audit.anchoring.signing import Ed25519Signer, write_private_key
from audit.anchoring.verify import verify_anchored
from audit.exporting import FORMATS
from audit.filters import EventFilter, parse_moment, parse_target
from audit.models import AuditEvent
from audit.services import export_events


class Command(BaseCommand):
    help = "Verify the audit trail against its signed checkpoints, checkpoint it, export it, or make signing keys."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{verify,export,checkpoint,evidence,keygen}"
        )
        verify = sub.add_parser("verify", help="recompute the hash chain; exit 1 at the first broken link")
        verify.add_argument("--from", dest="from_seq", type=int, default=1, metavar="SEQ", help="start at SEQ")
        verify.add_argument(
            "--expect-tip",
            metavar="SEQ:HASH",
            help="also check that event SEQ still has HASH (a tip recorded outside the database, e.g. in a log "
            "or an earlier export), which detects removal of the newest events",
        )
        export = sub.add_parser("export", help="stream events to a file or stdout")
        export.add_argument("--since", required=True, help="ISO date or date-time (UTC if no offset), inclusive")
        export.add_argument("--until", required=True, help="ISO date or date-time, exclusive; a bare date includes it")
        export.add_argument("--actor", default="", metavar="USERNAME")
        export.add_argument("--action", default="", choices=[a.value for a in Action], metavar="ACTION")
        export.add_argument("--outcome", default="", choices=[o.value for o in Outcome])
        export.add_argument("--target", default="", metavar="TYPE:ID", help="e.g. workspaces.workspace:42")
        export.add_argument("--request-id", default="")
        export.add_argument("--format", required=True, choices=FORMATS)
        export.add_argument("--output", metavar="FILE", help="write here instead of stdout")
        sub.add_parser("checkpoint", help="sign the chain's tip into the write-once sink now")
        evidence = sub.add_parser("evidence", help="write an evidence pack an auditor verifies offline")
        evidence.add_argument("--since", required=True, help="ISO date or date-time (UTC if no offset), inclusive")
        evidence.add_argument("--until", required=True, help="ISO date/date-time, exclusive; a bare date is included")
        evidence.add_argument("--dataset", default="", metavar="SLUG", help="flag the events about this dataset")
        evidence.add_argument("--user", default="", metavar="USERNAME", help="flag the events about this user")
        evidence.add_argument("--out", required=True, metavar="PACK.zip")
        keygen = sub.add_parser("keygen", help="create an Ed25519 signing key file (mode 0600)")
        keygen.add_argument("--out", required=True, metavar="KEY.pem")

    def handle(self, *args: Any, **options: Any) -> None:
        handler = {
            "verify": self._verify,
            "export": self._export,
            "checkpoint": self._checkpoint,
            "evidence": self._evidence,
            "keygen": self._keygen,
        }[options["subcommand"]]
        handler(options)

    def _verify(self, options: dict[str, Any]) -> None:
        anchored = verify_anchored(options["from_seq"])
        result = anchored.chain
        rate = f"{result.rate:,.0f} events/s"
        if not result.ok:
            broken = result.broken
            assert broken is not None
            self.stderr.write(
                f"FAILED: audit chain broken at seq {broken.seq}: {broken.reason}\n"
                f"  expected: {broken.expected}\n  found:    {broken.found}\n"
                f"{result.checked} events checked before the break in {result.seconds:.2f} s ({rate})"
            )
            for line in anchored.report()[1:]:
                self.stderr.write(f"  {line}")
            raise SystemExit(1)
        if anchored.problems:
            self.stderr.write("FAILED: " + "\n  ".join(anchored.report()))
            raise SystemExit(1)
        if options["expect_tip"]:
            seq_text, _, expected = options["expect_tip"].partition(":")
            found = AuditEvent.objects.filter(seq=int(seq_text)).values_list("hash", flat=True).first()
            if found != expected.strip():
                self.stderr.write(
                    f"FAILED: expected tip does not match at seq {seq_text}\n"
                    f"  expected: {expected.strip()}\n  found:    {found or 'no such event (removed?)'}"
                )
                raise SystemExit(1)
        span = f"seq {result.first_seq}..{result.last_seq}" if result.checked else "no events"
        self.stdout.write(
            f"OK: {result.checked} events checked ({span}) in {result.seconds:.2f} s ({rate}); "
            f"tip {result.last_seq or 0}:{result.last_hash}"
        )
        for line in anchored.report():
            self.stdout.write(f"  {line}")

    def _checkpoint(self, options: dict[str, Any]) -> None:
        try:
            outcome = create_checkpoint(via="manage.py audit checkpoint")
        except CheckpointFailed as exc:
            self.stderr.write(f"FAILED: {exc}")
            raise SystemExit(1) from exc
        checkpoint = outcome.checkpoint
        if outcome.status == "disabled":
            self.stdout.write("anchoring is off (ENCLAVE_AUDIT_ANCHOR_SINK=none): no checkpoint written")
        elif checkpoint is None:
            self.stdout.write("the trail is empty: nothing to checkpoint")
        elif outcome.status == "unchanged":
            self.stdout.write(f"nothing new since {checkpoint.label}")
        else:
            assert outcome.event is not None
            self.stdout.write(
                f"wrote {checkpoint.label} signed by key {checkpoint.key_id} "
                f"(recorded as audit event #{outcome.event.seq})"
            )

    def _evidence(self, options: dict[str, Any]) -> None:
        try:
            since = parse_moment(options["since"])
            until = parse_moment(options["until"], end=True)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        out = Path(options["out"])
        try:
            with out.open("xb") as stream:
                summary, event = create_evidence_pack(
                    actor=None, since=since, until=until, out=stream, via="manage.py audit evidence",
                    dataset=options["dataset"], user=options["user"], name=out.name,
                )  # fmt: skip
        except FileExistsError as exc:
            raise CommandError(f"{out} exists; choose a new file") from exc
        except EvidencePackError as exc:
            out.unlink(missing_ok=True)
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"wrote {out}: events {summary.period_first}–{summary.period_last} ({summary.in_period} in the period, "
            f"{summary.matching} matching), anchored by {summary.anchor.label}; manifest sha256 "
            f"{summary.manifest_sha256} (recorded as audit event #{event.seq})\n"
            f"verify offline with: python3 verify_pack.py {out.name}  (verify_pack.py is inside the pack)"
        )

    def _keygen(self, options: dict[str, Any]) -> None:
        signer = Ed25519Signer.generate()
        try:
            write_private_key(Path(options["out"]), signer)
        except FileExistsError as exc:
            raise CommandError(f"{options['out']} exists; keys are never overwritten") from exc
        self.stdout.write(
            f"wrote {options['out']} (mode 0600): Ed25519 key {signer.key_id}\n"
            "Configure it with ENCLAVE_AUDIT_SIGNING_KEY_FILE; the next checkpoint publishes it to the key history.\n"
            "Publish this fingerprint where auditors can find it (they pass it to verify_pack.py --trust-key)."
        )

    def _export(self, options: dict[str, Any]) -> None:
        try:
            since = parse_moment(options["since"])
            until = parse_moment(options["until"], end=True)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        ttype, tid = parse_target(options["target"])
        flt = EventFilter(
            since=since, until=until, actor=options["actor"], action=options["action"], outcome=options["outcome"],
            target_type=ttype, target_id=tid, request_id=options["request_id"],
        )  # fmt: skip
        event, chunks = export_events(actor=None, flt=flt, fmt=options["format"], via="manage.py audit export")
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                for chunk in chunks:
                    out.write(chunk)
            self.stderr.write(f"exported to {options['output']} (recorded as audit event #{event.seq})")
        else:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            self.stdout.flush()

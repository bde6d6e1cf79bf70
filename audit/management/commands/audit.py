"""``manage.py audit verify [--from SEQ] [--expect-tip SEQ:HASH]`` and
``manage.py audit export --since --until [--actor] [--action] [--target TYPE:ID] --format jsonl|csv [--output FILE]``.

``verify`` proves the trail's integrity and exits non-zero (status 1) at the first broken
link, printing its sequence number with the expected and found hash. ``export`` streams
matching events in constant memory and records an ``audit.exported`` event.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.actions import Action, Outcome
from audit.exporting import FORMATS
from audit.filters import EventFilter, parse_moment, parse_target
from audit.models import AuditEvent
from audit.services import export_events
from audit.verification import verify_chain


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain, or export events as JSON Lines or CSV."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{verify,export}")
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

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            self._verify(options)
        else:
            self._export(options)

    def _verify(self, options: dict[str, Any]) -> None:
        result = verify_chain(options["from_seq"])
        rate = f"{result.rate:,.0f} events/s"
        if not result.ok:
            broken = result.broken
            assert broken is not None
            self.stderr.write(
                f"FAILED: audit chain broken at seq {broken.seq}: {broken.reason}\n"
                f"  expected: {broken.expected}\n  found:    {broken.found}\n"
                f"{result.checked} events checked before the break in {result.seconds:.2f} s ({rate})"
            )
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

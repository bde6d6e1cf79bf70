"""``manage.py doctor``: is this deployment able to do its work? Exit status 1 if not.

Checks the database, the broker, workers answering a ping, beat's last run, overdue work (items
whose task is late: the sweeper or the workers are not keeping up) and the cloud credentials of
every provider in use. Prints one line per check.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portal import health


class Command(BaseCommand):
    help = "Check the database, broker, workers, beat, overdue work and cloud credentials."

    def handle(self, *args: Any, **options: Any) -> None:
        checks = health.run_all()
        width = max(len(c.name) for c in checks)
        for check in checks:
            mark = self.style.SUCCESS("ok  ") if check.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{mark} {check.name.ljust(width)}  {check.detail}")
        failed = [c.name for c in checks if not c.ok]
        if failed:
            raise CommandError(f"{len(failed)} check(s) failed: {', '.join(failed)}")
        self.stdout.write(self.style.SUCCESS(f"all {len(checks)} checks passed"))

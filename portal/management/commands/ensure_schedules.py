"""``manage.py ensure_schedules``: register every periodic task with beat. Idempotent; the
deployment runs it at each start, after ``migrate``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from core.schedules import ensure_all


class Command(BaseCommand):
    help = "Create or update every periodic task (grant expiry, follow-ups, reconciliation, audit verification)."

    def handle(self, *args: Any, **options: Any) -> None:
        for task in ensure_all():
            self.stdout.write(f"  {task.name}: {task.task} every {task.interval}")

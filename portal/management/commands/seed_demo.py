"""``manage.py seed_demo``: demo users, catalog and datasets. Idempotent."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from audit.actions import Action
from audit.services import record
from core.schedules import ensure_all
from portal.demo import DEMO_PASSWORD, DEMO_USERS, seed_users


class Command(BaseCommand):
    help = "Create the demo users (one per role), the sample catalog and datasets. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            users = seed_users()
            admin = users["cara.admin"]
            import_module("catalog.demo").seed_catalog(admin)
            import_module("approvals.demo").seed_datasets(admin)
            ensure_all()
            record(action=Action.DEMO_SEEDED, system_actor="system:seed_demo", details={"users": sorted(users)})
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Local demo logins (password: {DEMO_PASSWORD}):"))
        for demo in DEMO_USERS:
            roles = ", ".join(r.label for r in demo.roles) or "no role (shows the no-access page)"
            self.stdout.write(f"  {demo.username:<15} {roles}")

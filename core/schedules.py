"""Periodic tasks, registered with django-celery-beat's database scheduler.

Each app declares what it needs in its ``schedules`` module as ``SCHEDULES``: tuples of
(name, task, every N minutes), found among the installed apps (so this module names none).
``ensure_all`` creates or updates every one of them and is idempotent; ``manage.py
ensure_schedules`` runs it at each deployment start (compose's web service) and ``seed_demo``
runs it for the demo. Without it beat would run nothing: grants would not expire and the
audit chain would not be verified.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from django.apps import apps
from django.db import transaction
from django.utils.module_loading import module_has_submodule
from django_celery_beat.models import IntervalSchedule, PeriodicTask

Schedule = tuple[str, str, int]  # (name, task, every N minutes)


def register(schedules: Iterable[Schedule]) -> list[PeriodicTask]:
    """Create or update one interval task per schedule, keyed by its name."""
    tasks = []
    with transaction.atomic():
        for name, task, minutes in schedules:
            every, _ = IntervalSchedule.objects.get_or_create(every=minutes, period=IntervalSchedule.MINUTES)
            periodic, _ = PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "interval": every, "enabled": True, "crontab": None}
            )
            tasks.append(periodic)
    return tasks


def ensure_all() -> list[PeriodicTask]:
    """Every installed app's schedules."""
    modules = [
        import_module(f"{config.name}.schedules")
        for config in apps.get_app_configs()
        if module_has_submodule(config.module, "schedules")
    ]
    return register(s for module in modules for s in getattr(module, "SCHEDULES", ()))

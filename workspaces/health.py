"""What ``manage.py doctor`` asks about workspaces (registered in ``WorkspacesConfig.ready()``)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.db.models import Min
from django.utils import timezone

from catalog.models import Template
from portal.health import Check
from workspaces import backends
from workspaces.models import Workspace

# The sweeper runs every minute and re-sends anything overdue: older than this, it is not keeping up.
OVERDUE_ALARM = timedelta(minutes=5)


def overdue_work() -> Check:
    now = timezone.now()
    late = Workspace.objects.filter(next_due_at__lte=now)
    agg = late.aggregate(oldest=Min("next_due_at"))
    count = late.count()
    if not count:
        return Check("overdue workspaces", True, "none")
    age = now - agg["oldest"]
    ok = age <= OVERDUE_ALARM
    detail = f"{count} overdue, the oldest by {int(age.total_seconds())} s"
    return Check("overdue workspaces", ok, detail + ("" if ok else " (are beat and the workers running?)"))


def cloud_credentials() -> Check:
    """One cheap authenticated call per provider in use (the first page of its inventory)."""
    providers = sorted(set(Template.objects.values_list("provider", flat=True).distinct()))
    if not providers:
        return Check("cloud credentials", True, "no provider in use")
    answers = []
    ok = True
    for provider in providers:
        try:
            list(itertools.islice(backends.get_backend(provider).inventory(), 1))
            answers.append(f"{provider}: reachable")
        except Exception as exc:
            ok = False
            answers.append(f"{provider}: {type(exc).__name__}: {str(exc)[:200]}")
    return Check("cloud credentials", ok, "; ".join(answers))

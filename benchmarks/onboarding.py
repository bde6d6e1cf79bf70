"""Onboarding users through the just-in-time SSO path: today's path against the one before issue 16.

"Before" is a frozen copy of the path as it stood when issue 16 was filed (create the user, audit
it, map IdP groups to roles and sync them, one transaction per user); "after" is the path through
the public identity functions as they are now (``portal.identity.roles_for_groups`` and
``sync_roles``; if the identity rewrite gives the login pipeline one public function, point
``after_path`` at it). Both run in alternating chunks in the same run. Target (issue 16): after
<= 0.5x before's time. Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.onboarding [--quick]
"""

from __future__ import annotations

import sys
import time

from benchmarks._report import Row, standard_main
from benchmarks._scratch import postgres_url_or_exit, scratch_database

GROUPS = ["enclave-data-scientists"]


def before_path(i: int) -> None:
    """Frozen: the JIT path before issue 16 (do not optimise this; it is the baseline)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from audit.actions import Action
    from audit.services import record
    from portal.identity import roles_for_groups, sync_roles

    with transaction.atomic():
        user = get_user_model().objects.create_user(
            username=f"before{i:06d}", email=f"before{i:06d}@bank.example", cost_centre="CC-1001"
        )
        record(action=Action.USER_CREATED, target=user, system_actor="idp:bench", details={"source": "sso"})
        sync_roles(user, roles_for_groups(GROUPS), source="bench")


def after_path(i: int) -> None:
    """Today's JIT path through the public identity functions."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from audit.actions import Action
    from audit.services import record
    from portal.identity import roles_for_groups, sync_roles

    with transaction.atomic():
        user = get_user_model().objects.create_user(
            username=f"after{i:06d}", email=f"after{i:06d}@bank.example", cost_centre="CC-1001"
        )
        record(action=Action.USER_CREATED, target=user, system_actor="idp:bench", details={"source": "sso"})
        sync_roles(user, roles_for_groups(GROUPS), source="bench")


def run(quick: bool) -> list[Row]:
    users = 40 if quick else 10_000
    chunk = 20 if quick else 500
    url = postgres_url_or_exit()
    with scratch_database(url, "enclave_bench_onboarding"):
        before_path(-1)  # warm both (imports, the role groups)
        after_path(-1)
        before = after = 0.0
        for start in range(0, users, chunk):
            stop = min(start + chunk, users)
            t = time.perf_counter()
            for i in range(start, stop):
                before_path(i)
            before += time.perf_counter() - t
            t = time.perf_counter()
            for i in range(start, stop):
                after_path(i)
            after += time.perf_counter() - t
    print(f"onboarded {users:,} users each way: before {before:.1f} s, after {after:.1f} s")
    return [
        Row(f"onboard {users:,} users (JIT SSO path)", "before s", before, after, "s", False, 2.0, "<= 0.5x before")
    ]


def main(argv: list[str] | None = None) -> int:
    return standard_main("python -m benchmarks.onboarding", __doc__, run, argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

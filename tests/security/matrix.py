"""The authorization matrix: for every project URL, the expected status per role.

Statuses: 200 page, 302 redirect (anonymous → login), 403 wrong role (audited), 404
someone else's object (audited), 405 wrong method. Objects come from ``build_world``,
owned by users *other* than the ones making requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.urls import reverse

from tests.factories import UserFactory

THIRD_PARTY_PREFIXES = ("accounts/", "admin/")


@dataclass(frozen=True)
class Expect:
    anonymous: int
    data_scientist: int
    approver: int
    catalog_admin: int
    auditor: int
    method: str = "GET"
    kwargs: Callable[[Any], dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    @property
    def status(self) -> dict[str, int]:
        return {
            "anonymous": self.anonymous,
            "data_scientist": self.data_scientist,
            "approver": self.approver,
            "catalog_admin": self.catalog_admin,
            "auditor": self.auditor,
        }

    def url(self, world: Any) -> str:
        return reverse(self.name, kwargs=self.kwargs(world) if self.kwargs else None)


def everyone(status: int, *, anonymous: int = 302, **kw: Any) -> Expect:
    return Expect(anonymous, status, status, status, status, **kw)


def only(*, anonymous: int = 302, ok: int = 200, denied: int = 403, roles: tuple[str, ...], **kw: Any) -> Expect:
    statuses = {r: (ok if r in roles else denied) for r in ("data_scientist", "approver", "catalog_admin", "auditor")}
    return Expect(anonymous, **statuses, **kw)


def build_world() -> SimpleNamespace:
    """One user per role (the requesters) and objects owned by someone else."""
    users = {
        "data_scientist": UserFactory(username="m.scientist", roles=["data_scientist"]),
        "approver": UserFactory(username="m.approver", roles=["approver"]),
        "catalog_admin": UserFactory(username="m.admin", roles=["catalog_admin"]),
        "auditor": UserFactory(username="m.auditor", roles=["auditor"]),
    }
    owner = UserFactory(username="m.owner", roles=["data_scientist"])
    return SimpleNamespace(users=users, owner=owner)


_ENTRIES: dict[str, Expect] = {
    "dashboard": everyone(200),
    "api-schema": everyone(200, anonymous=401),
}

EXPECTATIONS: dict[str, Expect] = {name: Expect(**{**e.__dict__, "name": name}) for name, e in _ENTRIES.items()}

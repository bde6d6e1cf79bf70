"""The embedded demo's people: one user per role (plus a second scientist and a user
with no role), with a local password usable only while ENCLAVE_LOCAL_LOGIN is on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from audit.actions import Action
from audit.services import record
from core.roles import Role
from portal.identity import sync_roles
from portal.identity.config import ENTRA_OBJECT_ID_CLAIM, provider_config, social_apps
from portal.identity.services import LINK_SEED, link_identity

DEMO_PASSWORD = "enclave-demo-2026"  # noqa: S105 - demo only; local login is off in production


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    roles: tuple[Role, ...]
    cost_centre: str
    entra_object_id: str


DEMO_USERS = (
    DemoUser(
        "sam.scientist", "Sam Scientist", (Role.DATA_SCIENTIST,), "CC-RISK-042", "8c1f4a52-3b7e-4d1a-9f4e-2a6b1c0d9e11"
    ),
    DemoUser(
        "olga.other", "Olga Other", (Role.DATA_SCIENTIST,), "CC-FRAUD-007", "5d2e7b13-6c8f-4e2b-8a5d-3b7c2d1e0f22"
    ),
    DemoUser("alex.approver", "Alex Approver", (Role.APPROVER,), "CC-DATA-001", "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c33"),
    DemoUser("cara.admin", "Cara Admin", (Role.CATALOG_ADMIN,), "CC-PLAT-100", "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c44"),
    DemoUser("aud.auditor", "Aud Auditor", (Role.AUDITOR,), "CC-AUDIT-900", "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e055"),
    DemoUser("nora.nogroup", "Nora Nogroup", (), "CC-NONE-000", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c66"),
)


@transaction.atomic
def seed_users() -> dict[str, Any]:
    """Create or refresh the demo users; idempotent (roles re-synced, password reset)."""
    users: dict[str, Any] = {}
    user_model = get_user_model()
    for demo in DEMO_USERS:
        user, created = user_model.objects.get_or_create(
            username=demo.username,
            defaults={
                "display_name": demo.display_name,
                "email": f"{demo.username}@bank.example",
                "cost_centre": demo.cost_centre,
                "entra_object_id": demo.entra_object_id,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            record(action=Action.USER_CREATED, target=user, system_actor="system:seed_demo", details={"source": "demo"})
        sync_roles(user, set(demo.roles), source="demo-seed")
        _link_demo_identity(user, demo)
        users[demo.username] = user
    return users


def _link_demo_identity(user: Any, demo: DemoUser) -> None:
    """Bind the seeded user to their demo-IdP identity, explicitly and audited, when the demo
    IdP is configured with ``oid`` as its subject (scripts/run.sh does): the same path an
    administrator or SCIM takes, since a login never links on a matching claim."""
    for app in social_apps("openid_connect"):
        provider = str(app["provider_id"])
        if provider != "demo" or provider_config(provider).subject_claim != ENTRA_OBJECT_ID_CLAIM:
            continue
        issuer = str(app["settings"]["server_url"]).rstrip("/")
        link_identity(
            user=user, provider=provider, issuer=issuer, subject=demo.entra_object_id, method=LINK_SEED,
            system_actor="system:seed_demo",
        )  # fmt: skip

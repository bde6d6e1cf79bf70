"""Leavers and movers from the IdP: what happens at once, in the leaver's transaction (the cloud
work after commit is covered with a real worker in tests/integration/test_leaver.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals.models import AccessRequest, Grant
from audit.models import AuditEvent
from portal.models import Identity, PersonalToken, User
from portal.tokens import issue_token
from tests.approvals.conftest import make_dataset, make_user, make_workspace
from tests.scim.conftest import ENTRA_APPROVERS, ENTRA_ISSUER, ENTRA_SCIENTISTS
from tests.scim.test_idp_sequences import PATCH, entra_create_group, entra_create_user, entra_members
from workspaces.models import Workspace

OID = "4b2c0000-0000-4000-8000-00000000beef"
DEACTIVATE = {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": False}]}
REACTIVATE = {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": True}]}


def provisioned(scim: Any, user: Any, oid: str = OID) -> str:
    """``user`` signed in through Entra before (identity bound to their object id); SCIM then
    provisions the same object id. Returns the SCIM id."""
    Identity.objects.get_or_create(provider="entra", issuer=ENTRA_ISSUER, subject=oid, defaults={"user": user})
    return str(entra_create_user(scim, oid=oid, user_name=f"{user.username}@bank.example")["id"])


def request(requester: Any, workspace: Any, state: str = "pending", **extra: Any) -> AccessRequest:
    dataset = make_dataset()
    return AccessRequest.objects.create(
        requester=requester, dataset=dataset, workspace=workspace, policy=dataset.policy, justification="Model work",
        duration_hours=24, approver_group=dataset.policy.approver_group, approvals_required=1, state=state, **extra,
    )  # fmt: skip


@pytest.fixture
def leaver(scim: Any, transactional_db: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A scientist with a running workspace, a pending request, an active grant, a token and a session.

    Tasks are recorded, not published: once an integration test has started the session's worker,
    it would run the stop against the AWS stand-in (tests/integration/test_leaver.py covers that)."""
    published: list[str] = []

    def record(name: str, args: Any, countdown: float | None = None) -> bool:
        published.append(name)
        return True

    monkeypatch.setattr("workspaces.dispatch.publish", record)
    user = make_user(username="lee.leaver", roles=["data_scientist"])
    ws = make_workspace(owner=user, state="running")
    pending = request(user, ws)
    active = request(user, ws, state="active")
    grant = Grant.objects.create(
        request=active, dataset=active.dataset or make_dataset(), workspace=ws, status="applied",
        expires_at=timezone.now() + timedelta(hours=24),
    )  # fmt: skip
    _, secret = issue_token(user, name="laptop", days=30)
    browser = Client()
    browser.force_login(user)
    scim_id = provisioned(scim, user)
    return {"user": user, "ws": ws, "pending": pending, "active": active, "grant": grant, "secret": secret,
            "browser": browser, "scim_id": scim_id}  # fmt: skip


def sessions_of(user: Any) -> int:
    return sum(1 for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk))


def test_deactivating_a_scientist_ends_sessions_tokens_requests_grants_and_stops_workspaces(
    scim: Any, leaver: Any
) -> None:
    user = leaver["user"]
    assert sessions_of(user) == 1
    assert (
        Client().get(reverse("workspace-list"), headers={"Authorization": f"Bearer {leaver['secret']}"}).status_code
        == 200
    )

    scim.call("PATCH", f"Users/{leaver['scim_id']}", DEACTIVATE, expect=200)

    assert not User.objects.get(pk=user.pk).is_active
    assert sessions_of(user) == 0
    assert leaver["browser"].get("/").status_code == 302  # signed out: back to the login page
    api = Client().get(reverse("workspace-list"), headers={"Authorization": f"Bearer {leaver['secret']}"})
    assert api.status_code == 401
    assert PersonalToken.objects.get(user=user).revoked_at is not None
    assert AccessRequest.objects.get(pk=leaver["pending"].pk).state == "withdrawn"
    assert AccessRequest.objects.get(pk=leaver["active"].pk).state == "revoked"
    assert Grant.objects.get(pk=leaver["grant"].pk).status == "removing"  # the removal task takes it off the role
    assert Workspace.objects.get(pk=leaver["ws"].pk).state == "stopping"
    by_scim = set(AuditEvent.objects.filter(actor_label="scim:entra").values_list("action", flat=True))
    assert {
        "user.deactivated", "user.sessions_ended", "api_token.revoked", "access_request.withdrawn",
        "grant.revoked", "workspace.stop_requested", "scim_user.updated",
    } <= by_scim  # fmt: skip


def test_the_delete_setting_deletes_a_leavers_workspaces(scim: Any, leaver: Any, settings: Any) -> None:
    settings.ENCLAVE_LEAVER_WORKSPACE_ACTION = "delete"
    scim.call("DELETE", f"Users/{leaver['scim_id']}", expect=204)
    assert Workspace.objects.get(pk=leaver["ws"].pk).state == "deleting"
    assert not User.objects.get(pk=leaver["user"].pk).is_active


def test_reactivation_restores_sign_in_but_no_token_grant_or_workspace(scim: Any, leaver: Any) -> None:
    scim.call("PATCH", f"Users/{leaver['scim_id']}", DEACTIVATE, expect=200)
    scim.call("PATCH", f"Users/{leaver['scim_id']}", REACTIVATE, expect=200)
    user = User.objects.get(pk=leaver["user"].pk)
    assert user.is_active
    assert PersonalToken.objects.get(user=user).revoked_at is not None
    assert AccessRequest.objects.get(pk=leaver["active"].pk).state == "revoked"
    assert Workspace.objects.get(pk=leaver["ws"].pk).state == "stopping"
    assert AuditEvent.objects.filter(action="user.reactivated", actor_label="scim:entra").count() == 1


def test_a_leaving_approver_is_replaced_by_the_rest_of_the_group(scim: Any, transactional_db: Any) -> None:
    leaving = make_user(username="ann.approver", roles=["approver"])
    make_user(username="bob.approver", roles=["approver"])
    req = request(make_user(username="sci", roles=["data_scientist"]), make_workspace(state="running"))
    scim_id = provisioned(scim, leaving)
    scim.call("PATCH", f"Users/{scim_id}", DEACTIVATE, expect=200)
    event = AuditEvent.objects.get(action="access_request.rerouted", target_id=str(req.pk))
    assert (event.actor_label, event.details["to"], event.details["remaining_approvers"]) == ("scim:entra", "group", 1)
    assert AccessRequest.objects.get(pk=req.pk).escalated_at is None


def test_the_last_approver_leaving_escalates_to_the_fallback_group(
    scim: Any, transactional_db: Any, settings: Any
) -> None:
    Group.objects.get_or_create(name=settings.ENCLAVE_APPROVAL_FALLBACK_GROUP)
    leaving = make_user(username="ann.approver", roles=["approver"])
    req = request(make_user(username="sci", roles=["data_scientist"]), make_workspace(state="running"))
    scim_id = provisioned(scim, leaving)
    scim.call("PATCH", f"Users/{scim_id}", DEACTIVATE, expect=200)
    event = AuditEvent.objects.get(action="access_request.rerouted", target_id=str(req.pk))
    assert event.details["to"] == "fallback"
    assert AccessRequest.objects.get(pk=req.pk).escalated_at is not None


def test_losing_the_approver_group_reroutes_and_losing_the_scientist_group_stops_workspaces(
    scim: Any, transactional_db: Any
) -> None:
    mover = make_user(username="mo.mover")
    make_user(username="bob.approver", roles=["approver"])
    ws = make_workspace(owner=mover, state="running")
    req = request(make_user(username="sci", roles=["data_scientist"]), make_workspace(state="running"))
    scim_id = provisioned(scim, mover)
    scientists = entra_create_group(scim, ENTRA_SCIENTISTS, "Scientists")["id"]
    approvers = entra_create_group(scim, ENTRA_APPROVERS, "Approvers")["id"]
    entra_members(scim, scientists, "Add", scim_id)
    entra_members(scim, approvers, "Add", scim_id)

    entra_members(scim, approvers, "Remove", scim_id)
    assert AuditEvent.objects.filter(action="access_request.rerouted", target_id=str(req.pk)).exists()
    assert Workspace.objects.get(pk=ws.pk).state == "running"

    entra_members(scim, scientists, "Remove", scim_id)
    assert Workspace.objects.get(pk=ws.pk).state == "stopping"
    changes = AuditEvent.objects.filter(action="user.roles_changed", target_id=str(mover.pk), actor_label="scim:entra")
    assert [e.details["after"] for e in changes.order_by("seq")] == [
        ["data_scientist"], ["approver", "data_scientist"], ["data_scientist"], [],
    ]  # fmt: skip

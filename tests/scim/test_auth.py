"""Each IdP connection authenticates with its own bearer token, stored hashed; nothing else gets in."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from portal.models import ScimConnection
from portal.scim.services import create_or_rotate_token
from tests.approvals.conftest import make_user
from tests.scim.conftest import Scim


def test_without_a_bearer_token_scim_answers_401_with_a_scim_error(scim_connection: Any) -> None:
    response = Client().get("/scim/v2/Users")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_a_signed_in_catalog_admin_session_is_not_a_scim_credential(scim_connection: Any) -> None:
    browser = Client()
    browser.force_login(make_user(username="cara", roles=["catalog_admin"]))
    assert browser.get("/scim/v2/Users").status_code == 401


def test_a_wrong_token_is_refused_and_audited(scim_connection: Any) -> None:
    _, secret = scim_connection
    assert Scim(secret[:-2] + "xx").call("GET", "Users").status_code == 401
    assert AuditEvent.objects.filter(action="scim.auth_failed", outcome="denied").count() == 1


def test_the_token_is_stored_only_as_a_digest(scim_connection: Any) -> None:
    connection, secret = scim_connection
    stored = ScimConnection.objects.filter(pk=connection.pk).values().get()
    assert secret not in str(stored)
    assert Scim(secret).call("GET", "Users").status_code == 200


def test_rotating_a_token_stops_the_old_one_and_revoking_stops_the_new_one(scim_connection: Any) -> None:
    _, old = scim_connection
    _, new = create_or_rotate_token("entra")
    assert Scim(old).call("GET", "Users").status_code == 401
    assert Scim(new).call("GET", "Users").status_code == 200
    call_command("scim_token", "revoke", "entra")
    assert Scim(new).call("GET", "Users").status_code == 401


def test_the_command_prints_the_token_once_and_it_works(db: Any, idp_settings: Any, capsys: Any) -> None:
    call_command("scim_token", "create", "okta", "--provider", "okta", "--issuer", "https://bank.okta.com")
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("scim_")
    assert Scim(secret).call("GET", "ServiceProviderConfig").status_code == 200


def test_one_connection_never_sees_another_connections_users(scim: Any, okta: Any) -> None:
    from tests.scim.test_idp_sequences import entra_create_user

    created = entra_create_user(scim)
    assert okta.call("GET", f"Users/{created['id']}").status_code == 404
    assert okta.call("GET", "Users").json()["totalResults"] == 0


def test_scim_posts_need_no_csrf_token_while_the_portal_still_does(scim: Any) -> None:
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g"}
    assert scim.call("POST", "Groups", body).status_code == 201  # the client enforces CSRF checks
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user(username="sam", roles=["data_scientist"]))
    assert browser.post(reverse("approvals:new_request"), {}).status_code == 403

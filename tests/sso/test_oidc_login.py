"""SSO through a real OpenID Connect IdP on loopback: authorization code + PKCE, state and
nonce checked, users created just in time with roles from IdP groups at every login, and
every outcome in the audit trail."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from core.roles import Role, roles_of
from portal.identity import IDP_MFA_SESSION_KEY
from tests.fixtures.oidc import LOGIN_PATH

pytestmark = [pytest.mark.sso, pytest.mark.django_db]

User = get_user_model()


def _actions(**filters: Any) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).order_by("seq").values_list("action", flat=True))


def test_first_login_creates_the_user_with_the_role_of_their_idp_group(client, sso_login):
    result = sso_login(client, "sam.scientist")

    assert result.response.status_code == 302
    assert result.response["Location"] == "/"
    user = User.objects.get(username="sam.scientist")
    assert roles_of(user) == {Role.DATA_SCIENTIST}
    assert user.email == "sam.scientist@bank.example"
    assert user.display_name == "Sam Scientist"
    assert user.entra_object_id == "8c1f4a52-3b7e-4d1a-9f4e-2a6b1c0d9e11"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert _actions(target_id=str(user.pk)) == ["user.created", "identity.linked", "user.roles_changed", "auth.login"]
    identity = user.identities.get()
    assert (identity.provider, identity.subject) == ("demo", "8c1f4a52-3b7e-4d1a-9f4e-2a6b1c0d9e11")
    assert "nonce" not in identity.claims
    login = AuditEvent.objects.get(action="auth.login")
    assert login.details["method"] == "socialaccount"
    assert login.details["provider"] == "demo"
    assert login.actor_roles == ["data_scientist"]


def test_authorization_request_uses_pkce_s256_state_and_nonce(client, oidc_idp):
    start = client.post(LOGIN_PATH)
    params = parse_qs(urlsplit(start["Location"]).query)

    assert params["response_type"] == ["code"]
    assert params["code_challenge_method"] == ["S256"]
    assert len(params["code_challenge"][0]) >= 43
    assert len(params["state"][0]) >= 12
    assert len(params["nonce"][0]) >= 24


def test_a_changed_group_membership_changes_the_roles_at_the_next_login(client, sso_login, oidc_idp):
    sso_login(client, "sam.scientist")
    client.post("/accounts/logout/")
    oidc_idp.idp.set_groups("sam.scientist", ["enclave-data-scientists", "enclave-auditors"])

    sso_login(client, "sam.scientist")

    user = User.objects.get(username="sam.scientist")
    assert roles_of(user) == {Role.DATA_SCIENTIST, Role.AUDITOR}
    change = AuditEvent.objects.filter(action="user.roles_changed", target_id=str(user.pk)).order_by("seq").last()
    assert change is not None
    assert change.details["before"] == ["data_scientist"]
    assert change.details["after"] == ["auditor", "data_scientist"]


def test_a_user_removed_from_a_group_loses_the_role_at_the_next_login(client, sso_login, oidc_idp):
    oidc_idp.idp.set_groups("sam.scientist", ["enclave-data-scientists", "enclave-auditors"])
    sso_login(client, "sam.scientist")
    client.post("/accounts/logout/")
    oidc_idp.idp.set_groups("sam.scientist", ["enclave-data-scientists"])

    sso_login(client, "sam.scientist")

    assert roles_of(User.objects.get(username="sam.scientist")) == {Role.DATA_SCIENTIST}


def test_a_user_without_a_mapped_group_is_refused_with_the_no_access_page(client, sso_login):
    result = sso_login(client, "nora.nogroup")

    assert result.response.status_code == 403
    assert b'data-testid="no-access"' in result.response.content
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(username="nora.nogroup").exists()
    event = AuditEvent.objects.get(action="auth.no_access")
    assert event.outcome == "denied"
    assert event.target_display == "nora.nogroup"
    assert event.details["idp_groups"] == []
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_an_existing_user_whose_groups_were_all_removed_loses_roles_and_is_refused(client, sso_login, oidc_idp):
    sso_login(client, "sam.scientist")
    client.post("/accounts/logout/")
    oidc_idp.idp.set_groups("sam.scientist", ["some-unrelated-group"])

    result = sso_login(client, "sam.scientist")

    assert result.response.status_code == 403
    user = User.objects.get(username="sam.scientist")
    assert roles_of(user) == frozenset()
    assert "_auth_user_id" not in client.session
    assert _actions(target_id=str(user.pk))[-2:] == ["user.roles_changed", "auth.no_access"]


def test_a_tampered_state_is_refused_and_audited(client, sso_login):
    result = sso_login(client, "sam.scientist", tamper_state=True)

    assert result.response.status_code == 401
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(username="sam.scientist").exists()
    failure = AuditEvent.objects.get(action="auth.sso_failed")
    assert failure.outcome == "denied"
    assert "state" in failure.details["reason"]


def test_a_wrong_nonce_in_the_id_token_is_refused_and_audited(client, sso_login, oidc_idp):
    oidc_idp.idp.tamper_next_nonce = True

    result = sso_login(client, "sam.scientist")

    assert result.response.status_code == 401
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(username="sam.scientist").exists()
    failure = AuditEvent.objects.get(action="auth.sso_failed")
    assert failure.details["exception"] == "NonceMismatchError"
    assert "nonce" in failure.details["reason"]


def test_a_replayed_authorization_code_is_refused_and_audited(client, sso_login):
    first = sso_login(client, "sam.scientist")
    client.post("/accounts/logout/")

    # The same callback again: the state was consumed and the IdP's code is one-time.
    replay = client.get(first.callback_url.removeprefix("http://testserver"))

    assert replay.status_code == 401
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.sso_failed").count() == 1


def test_an_idp_error_response_is_audited_as_a_failed_sso(client, oidc_idp):
    start = client.post(LOGIN_PATH)
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]

    response = client.get(f"/accounts/oidc/demo/login/callback/?error=server_error&state={state}")

    assert response.status_code == 401
    failure = AuditEvent.objects.get(action="auth.sso_failed")
    assert "server_error" in failure.details["reason"]


def test_the_token_endpoint_refuses_a_code_without_the_pkce_verifier(client, oidc_idp):
    start = client.post(LOGIN_PATH)
    params = {k: v[0] for k, v in parse_qs(urlsplit(start["Location"]).query).items()}
    back = requests.post(
        f"{oidc_idp.issuer}/authorize", data={**params, "username": "sam.scientist"}, allow_redirects=False, timeout=5
    )
    code = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]

    token = requests.post(
        f"{oidc_idp.issuer}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": params["redirect_uri"]},
        auth=("enclave-test", "enclave-test-secret"),
        timeout=5,
    )

    assert token.status_code == 400
    assert "PKCE" in token.json()["error_description"]


def test_a_pre_provisioned_user_is_not_linked_by_a_matching_object_id_and_the_login_is_refused(client, sso_login):
    from tests.factories import UserFactory

    seeded: Any = UserFactory(username="sam.scientist", entra_object_id="8c1f4a52-3b7e-4d1a-9f4e-2a6b1c0d9e11")

    result = sso_login(client, "sam.scientist")

    assert result.response.status_code == 403
    assert b'data-reason="identity_conflict"' in result.response.content
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == 1  # no second account was made for the asserted identity
    conflict = AuditEvent.objects.get(action="auth.identity_conflict")
    assert conflict.outcome == "denied"
    assert conflict.target_id == str(seeded.pk)


def test_a_pre_provisioned_user_signs_in_once_an_administrator_linked_the_identity(client, sso_login, oidc_idp):
    from portal.identity.services import LINK_ADMIN, link_identity
    from tests.factories import UserFactory

    seeded: Any = UserFactory(username="sam.scientist", entra_object_id="8c1f4a52-3b7e-4d1a-9f4e-2a6b1c0d9e11")
    admin: Any = UserFactory(username="cara.admin", roles=["catalog_admin"])
    link_identity(
        user=seeded, provider="demo", issuer=oidc_idp.issuer, subject="8c1f4a52-3b7e-4d1a-9f4e-2a6b1c0d9e11",
        method=LINK_ADMIN, actor=admin,
    )  # fmt: skip

    sso_login(client, "sam.scientist")

    assert client.session["_auth_user_id"] == str(seeded.pk)
    assert roles_of(User.objects.get(pk=seeded.pk)) == {Role.DATA_SCIENTIST}
    linked = AuditEvent.objects.get(action="identity.linked")
    assert linked.actor_label == "cara.admin"
    assert linked.details["method"] == "admin"


def test_a_same_username_without_the_same_object_id_is_never_taken_over(client, sso_login):
    from tests.factories import UserFactory

    local: Any = UserFactory(username="sam.scientist", entra_object_id="someone-else")

    sso_login(client, "sam.scientist")

    assert client.session["_auth_user_id"] != str(local.pk)
    assert User.objects.get(pk=int(client.session["_auth_user_id"])).username != "sam.scientist"


def test_idp_asserted_mfa_is_remembered_in_the_session(client, sso_login, oidc_idp):
    oidc_idp.idp.set_amr("alex.approver", ["pwd", "mfa"])

    result = sso_login(client, "alex.approver")

    assert client.session[IDP_MFA_SESSION_KEY] is True
    assert result.response["Location"] == "/"
    assert client.get("/profile/").status_code == 200  # no detour to MFA setup


def test_an_approver_without_mfa_at_the_idp_is_sent_to_totp_setup_and_it_is_audited(client, sso_login, oidc_idp):
    oidc_idp.idp.set_amr("alex.approver", ["pwd"])
    sso_login(client, "alex.approver")

    assert client.session[IDP_MFA_SESSION_KEY] is False
    dashboard = client.get("/")
    assert dashboard.status_code == 302
    assert dashboard["Location"] == "/accounts/2fa/totp/activate/"
    assert client.get("/profile/")["Location"] == "/accounts/2fa/totp/activate/"
    setup = client.get("/accounts/2fa/totp/activate/")
    assert setup.status_code == 200
    assert b"Authenticator" in setup.content
    event = AuditEvent.objects.get(action="auth.mfa_required")
    assert event.actor_label == "alex.approver"

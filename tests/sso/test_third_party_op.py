"""Interoperability with a maintained third-party OpenID Provider (IdentityPython's pyop,
from PyPI) on loopback, configured as docs/sso.md configures Okta: sign-in, PKCE, nonce,
groups released only under the ``groups`` scope, roles re-mapped at every sign-in,
refusal without a mapped group, MFA from ``amr``/``acr``, cached discovery and JWKS."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from core.roles import Role, roles_of
from devtools.pyop_op.server import OPUser
from portal.identity import IDP_MFA_SESSION_KEY
from tests.fixtures.third_party_op import CLIENT_SECRET, client_id, login_path, op_login, standard_users

pytestmark = [pytest.mark.sso, pytest.mark.django_db]

User = get_user_model()


def test_a_user_signs_in_through_the_third_party_op_with_roles_from_the_groups_scope(client, third_party_op):
    response = op_login(client, third_party_op, "sam")

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(username="sam.okta")
    assert roles_of(user) == {Role.DATA_SCIENTIST}
    assert client.session["_auth_user_id"] == str(user.pk)
    identity = user.identities.get()
    assert (identity.provider, identity.issuer, identity.subject) == ("okta", third_party_op.issuer, "00u1sam")
    login = AuditEvent.objects.get(action="auth.login")
    assert login.details["provider"] == "okta"


def test_the_authorization_request_carries_pkce_s256_a_nonce_and_the_groups_scope(client, third_party_op):
    start = client.post(login_path("okta"))
    params = parse_qs(urlsplit(start["Location"]).query)

    assert params["code_challenge_method"] == ["S256"]
    assert len(params["code_challenge"][0]) >= 43
    assert len(params["nonce"][0]) >= 24
    assert set(params["scope"][0].split()) == {"openid", "profile", "email", "groups"}


def test_the_op_refuses_a_code_without_the_pkce_verifier_the_portal_holds(client, third_party_op):
    start = client.post(login_path("okta"))
    query = urlsplit(start["Location"]).query
    params = {k: v[0] for k, v in parse_qs(query).items()}
    back = requests.post(
        f"{third_party_op.issuer}/authorize", data={"request": query, "user_id": "sam"}, allow_redirects=False,
        verify=third_party_op.ca_path, timeout=5,
    )  # fmt: skip
    code = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]
    token_request = {"grant_type": "authorization_code", "code": code, "redirect_uri": params["redirect_uri"]}

    wrong = requests.post(
        f"{third_party_op.issuer}/token", data={**token_request, "code_verifier": "x" * 50},
        auth=(client_id("okta"), CLIENT_SECRET), verify=third_party_op.ca_path, timeout=5,
    )  # fmt: skip

    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_request"
    # ...and the verifier the portal stashed with the login state is the one that matches.
    states = client.session["socialaccount_states"]
    verifier = next(iter(states.values()))[0]["pkce_code_verifier"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert digest == params["code_challenge"]


def test_an_id_token_whose_nonce_is_not_this_logins_is_refused_and_audited(client, third_party_op):
    def forget_the_nonce() -> None:
        session = client.session
        states = session["socialaccount_states"]
        for stashed in states.values():
            stashed[0]["nonce"] = "another-browsers-nonce"
        session["socialaccount_states"] = states
        session.save()

    response = op_login(client, third_party_op, "sam", before_callback=forget_the_nonce)

    assert response.status_code == 401
    assert "_auth_user_id" not in client.session
    failure = AuditEvent.objects.get(action="auth.sso_failed")
    assert failure.details["exception"] == "NonceMismatchError"


def test_without_the_groups_scope_the_op_releases_no_groups_and_the_user_has_no_access(client, start_third_party_op):
    op = start_third_party_op("okta", SCOPES="")

    response = op_login(client, op, "sam")

    assert response.status_code == 403
    assert AuditEvent.objects.get(action="auth.no_access").details["idp_groups"] == []


def test_a_changed_group_membership_changes_the_roles_at_the_next_sign_in(client, third_party_op):
    op_login(client, third_party_op, "sam")
    client.post("/accounts/logout/")
    sam = standard_users()["sam"]
    sam.userinfo["groups"] = ["enclave-data-scientists", "enclave-auditors"]
    third_party_op.set_user("sam", sam)

    op_login(client, third_party_op, "sam")

    user = User.objects.get(username="sam.okta")
    assert roles_of(user) == {Role.DATA_SCIENTIST, Role.AUDITOR}
    assert User.objects.count() == 1
    change = AuditEvent.objects.filter(action="user.roles_changed").order_by("seq").last()
    assert change is not None
    assert change.details["after"] == ["auditor", "data_scientist"]


def test_a_user_without_a_mapped_group_is_refused(client, third_party_op):
    response = op_login(client, third_party_op, "nora")

    assert response.status_code == 403
    assert b'data-testid="no-access"' in response.content
    assert not User.objects.filter(username="nora.okta").exists()
    assert AuditEvent.objects.get(action="auth.no_access").details["idp_groups"] == ["staff"]


def test_mfa_asserted_in_amr_is_honoured(client, third_party_op):
    op_login(client, third_party_op, "alex")

    assert client.session[IDP_MFA_SESSION_KEY] is True
    assert client.get("/profile/").status_code == 200


def test_an_approver_whose_op_asserts_no_mfa_is_sent_to_totp_setup(client, third_party_op):
    alex = standard_users()["alex"]
    alex.id_token["amr"] = ["pwd"]
    third_party_op.set_user("alex", alex)

    op_login(client, third_party_op, "alex")

    assert client.session[IDP_MFA_SESSION_KEY] is False
    assert client.get("/")["Location"] == "/accounts/2fa/totp/activate/"


def test_a_trusted_acr_value_counts_as_mfa_for_that_provider(client, start_third_party_op):
    op = start_third_party_op("okta", MFA_AMR="", MFA_ACR="urn:okta:loa:2fa:any")
    alex = standard_users()["alex"]
    alex.id_token = {"amr": ["mfa"], "acr": "urn:okta:loa:2fa:any"}
    op.set_user("alex", alex)

    op_login(client, op, "alex")

    assert client.session[IDP_MFA_SESSION_KEY] is True


def test_a_nested_groups_claim_is_read_at_its_path(client, start_third_party_op):
    users = {"kim": OPUser(
        {"sub": "kc-kim", "preferred_username": "kim.kc", "name": "Kim KC",
         "realm_access": {"roles": ["offline_access", "enclave-auditors"]}},
        {"amr": ["pwd"]},
    )}  # fmt: skip
    op = start_third_party_op("keycloak", users=users, SCOPES="roles", GROUPS_CLAIM="realm_access.roles")

    response = op_login(client, op, "kim", provider_id="keycloak")

    assert response.status_code == 302
    assert roles_of(User.objects.get(username="kim.kc")) == {Role.AUDITOR}


def test_discovery_and_jwks_are_fetched_once_for_many_sign_ins(client, third_party_op):
    for _ in range(3):
        op_login(client, third_party_op, "sam")
        client.post("/accounts/logout/")

    assert third_party_op.hits["/.well-known/openid-configuration"] == 1
    assert third_party_op.hits["/jwks"] == 1
    assert third_party_op.hits["/token"] == 3


def test_an_id_token_from_the_token_endpoint_is_refused_when_its_signature_does_not_verify(
    client, third_party_op, monkeypatch
):
    from Cryptodome.PublicKey import RSA
    from jwkest.jwk import RSAKey

    # The OP signs with a key its JWKS does not publish under that key id.
    third_party_op.published_jwks = third_party_op.provider.jwks
    monkeypatch.setattr(
        third_party_op.provider, "signing_key", RSAKey(key=RSA.generate(2048), alg="RS256", kid="pyop-1")
    )

    response = op_login(client, third_party_op, "sam")

    assert response.status_code == 401
    assert not User.objects.exists()
    assert "Invalid id_token" in AuditEvent.objects.get(action="auth.sso_failed").details["reason"]


def test_userinfo_about_another_subject_than_the_id_token_is_refused(client, third_party_op, monkeypatch):
    from portal.identity.oidc import EnclaveOIDCAdapter

    original = EnclaveOIDCAdapter._fetch_user_info

    def swapped(self: Any, access_token: str) -> dict[str, Any]:
        return {**original(self, access_token), "sub": "00u2alex"}

    monkeypatch.setattr(EnclaveOIDCAdapter, "_fetch_user_info", swapped)

    response = op_login(client, third_party_op, "sam")

    assert response.status_code == 401
    assert not User.objects.exists()
    assert "another subject" in AuditEvent.objects.get(action="auth.sso_failed").details["reason"]

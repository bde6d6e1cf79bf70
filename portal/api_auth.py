"""Personal API token authentication for the REST API (tokens are stored hashed).

Every refused token is recorded (bounded per source, see ``portal.refusals``), and MFA is a property
of the actor whatever the transport: a token of a user whose role needs MFA is refused unless the
session that issued it passed MFA (``portal.mfa.token_satisfies_mfa``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.request import Request

MFA_REFUSAL = (
    "Your role requires multi-factor authentication, and this token was not created from a session "
    "that passed it. Set up an authenticator on your profile, sign in with it, and create a new token."
)


class TokenNeedsMFA(PermissionDenied):
    default_code = "mfa_required"


class PersonalTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        from portal.mfa import mfa_required, token_satisfies_mfa
        from portal.refusals import record_refusal
        from portal.tokens import authenticate_token

        header = request.headers.get("Authorization", "")
        if not header.startswith(self.keyword + " "):
            return None
        secret = header[len(self.keyword) + 1 :].strip()
        try:
            user, token = authenticate_token(secret)
        except AuthenticationFailed as exc:
            parts = secret.split("_")
            handle = parts[1][:16] if len(parts) > 2 and parts[1].isalnum() else ""
            record_refusal(request, kind="token_rejected", reason=str(exc.detail), token_prefix=handle)
            raise
        if mfa_required(user) and not token_satisfies_mfa(user, token.mfa_at_issue):
            record_refusal(
                request,
                kind="token_mfa_required",
                reason="token used by a user whose role requires MFA, without MFA at issue",
                actor=user,
                target=user,
                token_prefix=token.prefix,
                mfa_at_issue=token.mfa_at_issue or "none",
            )
            raise TokenNeedsMFA(MFA_REFUSAL)
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class PersonalTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Documents the personal token as an HTTP bearer scheme in the OpenAPI schema."""

    target_class = "portal.api_auth.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from your profile page: `Authorization: Bearer enc_…`.",
        }

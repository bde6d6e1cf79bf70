"""Personal API token authentication for the REST API (tokens are stored hashed)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request


class PersonalTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        from portal.tokens import authenticate_token

        header = request.headers.get("Authorization", "")
        if not header.startswith(self.keyword + " "):
            return None
        return authenticate_token(header[len(self.keyword) + 1 :].strip())

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

"""Personal API token authentication for the REST API (tokens are stored hashed)."""

from __future__ import annotations

from typing import Any

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

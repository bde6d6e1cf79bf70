"""Rate limits on state-changing API calls, per user and per client address (DRF throttling on the
shared cache, Redis in production). Reads are not throttled here; sign-in is limited by allauth
(``ACCOUNT_RATE_LIMITS``) and brute force by axes. A limited call gets 429 with ``Retry-After``."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from portal.middleware import client_ip

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class _WriteThrottle(SimpleRateThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class UserWriteThrottle(_WriteThrottle):
    """State-changing calls per signed-in user (token or session), whichever address they come from."""

    scope = "user_writes"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class IPWriteThrottle(_WriteThrottle):
    """State-changing calls per client address, whoever signs them."""

    scope = "ip_writes"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}

"""CSP ``form-action`` for single sign-on: the SSO buttons are forms whose POST redirects to
the IdP, and browsers apply ``form-action`` to that redirect, so every configured provider's
authorization endpoint must be allowed. Derived from configuration, not hand-maintained
(``CSP_FORM_ACTION_EXTRA`` remains for anything else)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from portal.identity.oidc import authorization_origins

_MEMO_SECONDS = 60.0


class SSOFormActionMiddleware:
    """Adds the IdPs' authorization origins to ``form-action`` of HTML pages (django-csp 4's
    per-response update). Sits inside ``csp.middleware.CSPMiddleware``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._memo: tuple[float, object, list[str]] = (0.0, None, [])

    def origins(self) -> list[str]:
        from django.conf import settings

        at, providers, origins = self._memo
        current = settings.SOCIALACCOUNT_PROVIDERS
        if providers is not current or time.monotonic() - at > _MEMO_SECONDS:
            origins = authorization_origins()
            self._memo = (time.monotonic(), current, origins)
        return origins

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "text/html" not in response.get("Content-Type", ""):
            return response
        origins = self.origins()
        if origins:
            update = dict(getattr(response, "_csp_update", None) or {})
            update["form-action"] = [*update.get("form-action", []), *origins]
            response._csp_update = update  # type: ignore[attr-defined]
        return response

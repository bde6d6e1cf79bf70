"""SAML on top of allauth's provider (python3-saml does the XML security): replay protection,
IdP-initiated and unknown responses refused through the audited error path, and the reason
python3-saml gives for a refused Response named in the audit trail.

python3-saml (``strict``, ``wantAssertionsSigned``, ``rejectDeprecatedAlgorithm``) already
refuses an unsigned assertion, a broken signature or digest (tampering), an expired assertion
(``NotOnOrAfter`` past its 300 s clock drift), a wrong ``Audience`` or ``Destination``. It keeps
no memory of the assertions it accepted, so the same signed Response could be posted again
while still valid: ``EnclaveSAMLProvider`` remembers every accepted assertion id until its
``NotOnOrAfter`` (in the shared Django cache, Redis in production) and refuses a second use.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.saml.provider import SAMLProvider
from allauth.socialaccount.providers.saml.views import FinishACSView
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

# python3-saml's allowed clock drift: an assertion is accepted up to this long past NotOnOrAfter.
CLOCK_DRIFT_SECONDS = 300
# How long an assertion without a NotOnOrAfter is remembered.
DEFAULT_ASSERTION_LIFETIME_SECONDS = 3600

CHECK_UNSIGNED = "unsigned"
CHECK_SIGNATURE = "signature_invalid"
CHECK_EXPIRED = "expired"
CHECK_NOT_YET_VALID = "not_yet_valid"
CHECK_AUDIENCE = "wrong_audience"
CHECK_DESTINATION = "wrong_destination"
CHECK_REPLAYED = "replayed"
CHECK_UNSOLICITED = "unsolicited"
CHECK_UNKNOWN_REQUEST = "unknown_request"
CHECK_INVALID = "invalid"

# python3-saml's error reasons (OneLogin_Saml2_Response.is_valid) by the check that failed.
_REASON_MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (CHECK_UNSIGNED, ("is not signed", "no signature found", "signature is missing")),
    (CHECK_SIGNATURE, ("signature validation failed", "reference validation failed", "digest", "signature")),
    (CHECK_NOT_YET_VALID, ("not yet valid",)),
    (CHECK_EXPIRED, ("expired", "notonorafter", "no longer valid", "could not validate timestamp")),
    (CHECK_AUDIENCE, ("audience",)),
    (CHECK_DESTINATION, ("destination", "recipient")),
)


class SAMLAssertionRefused(Exception):
    """A SAML Response Enclave refuses after python3-saml accepted it; ``check`` names why."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check


def classify_saml_error(reason: str) -> str:
    """Which check a python3-saml error reason reports (``unsigned``, ``expired``...)."""
    folded = reason.casefold()
    for check, markers in _REASON_MARKERS:
        if any(marker in folded for marker in markers):
            return check
    return CHECK_INVALID


def remember_assertion(issuer: str, assertion_id: str, not_on_or_after: float | None) -> bool:
    """Record an accepted assertion id until it can no longer be accepted; False when it was
    already recorded (a replay). ``cache.add`` is atomic in Redis: of two concurrent posts of
    the same Response, one wins."""
    now = time.time()
    expires = (not_on_or_after or now + DEFAULT_ASSERTION_LIFETIME_SECONDS) + CLOCK_DRIFT_SECONDS
    key = "enclave:saml:assertion:" + hashlib.sha256(f"{issuer}\n{assertion_id}".encode()).hexdigest()
    return bool(cache.add(key, 1, timeout=max(1, int(expires - now) + 1)))


class EnclaveSAMLProvider(SAMLProvider):
    """allauth's SAML provider, refusing (audited) replays, unsolicited Responses and Responses
    to a request this browser did not make."""

    def _refuse(self, request: HttpRequest, exc: SAMLAssertionRefused) -> None:
        raise ImmediateHttpResponse(render_authentication_error(request, self, exception=exc))

    def sociallogin_from_response(self, request: HttpRequest, response: Any) -> Any:
        if not response.get_last_response_in_response_to():
            self._refuse(
                request,
                SAMLAssertionRefused(
                    CHECK_UNSOLICITED, "unsolicited (IdP-initiated) SAML response: sign in from Enclave's login page"
                ),
            )
        assertion_id = str(response.get_last_assertion_id() or "")
        issuer = str(((self.app.settings or {}).get("idp") or {}).get("entity_id") or "")
        if not assertion_id or not remember_assertion(
            issuer, assertion_id, response.get_last_assertion_not_on_or_after()
        ):
            self._refuse(
                request,
                SAMLAssertionRefused(
                    CHECK_REPLAYED, f"SAML assertion {assertion_id[:80]!r} was already used to sign in (replay)"
                ),
            )
        return super().sociallogin_from_response(request, response)

    def unstash_redirect_state(self, request: HttpRequest, state_id: str) -> Any:
        try:
            return super().unstash_redirect_state(request, state_id)
        except PermissionDenied:
            self._refuse(
                request,
                SAMLAssertionRefused(
                    CHECK_UNKNOWN_REQUEST,
                    "SAML response answers a sign-in request this browser did not make, or one that expired",
                ),
            )
            raise  # unreachable: _refuse raises


class EnclaveFinishACSView(FinishACSView):
    """allauth's ACS (second step), with ``EnclaveSAMLProvider``."""

    def get_provider(self, organization_slug: str) -> Any:
        app = self.get_app(organization_slug)
        return EnclaveSAMLProvider(self.request, app=app)


finish_acs = EnclaveFinishACSView.as_view()

"""The signed-in user's profile: identity facts, MFA status and personal API tokens.

Tokens are issued and revoked through ``portal.tokens`` (hashed at rest, audited); the
secret appears once, in the response to the POST that created it, and is never stored.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.permissions import any_role
from portal.identity.config import social_apps
from portal.identity.selectors import entra_object_id_for, identities_of
from portal.mfa import has_totp, mfa_required, session_mfa_method
from portal.models import PersonalToken
from portal.permissions import not_found
from portal.tokens import MAX_LIFETIME_DAYS, issue_token, revoke_token


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “CI pipeline” or “my laptop”.")
    days = forms.IntegerField(
        min_value=1, max_value=MAX_LIFETIME_DAYS, initial=30, help_text=f"1 to {MAX_LIFETIME_DAYS} days."
    )


def _render(request: HttpRequest, form: TokenForm, *, secret: str = "", new_token: PersonalToken | None = None,
            status: int = 200) -> HttpResponse:  # fmt: skip
    user: Any = request.user  # signed in: every view here is behind any_role
    tokens = PersonalToken.objects.filter(user=user).order_by("-created_at")
    identities = list(identities_of(user))
    linked = {i.provider for i in identities}
    # A second provider can be linked only while signed in through a linked identity.
    linkable = (
        [(str(a["provider_id"]), str(a.get("name") or a["provider_id"])) for a in social_apps("openid_connect")
         if a["provider_id"] not in linked]
        if identities else []
    )  # fmt: skip
    response = render(
        request,
        "portal/profile.html",
        {
            "form": form,
            "tokens": tokens,
            "secret": secret,
            "new_token": new_token,
            "has_totp": has_totp(request.user),
            "mfa_required": mfa_required(request.user),
            "now": timezone.now(),
            "identities": identities,
            "linkable": linkable,
            "entra_object_id": entra_object_id_for(user),
        },
        status=status,
    )
    if secret:
        response["Cache-Control"] = "no-store"
    return response


@any_role
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    return _render(request, TokenForm())


@any_role
@require_POST
def create_token(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _render(request, form, status=400)
    try:
        token, secret = issue_token(
            request.user,  # type: ignore[arg-type]
            name=form.cleaned_data["name"],
            days=form.cleaned_data["days"],
            mfa_at_issue=session_mfa_method(request),
        )
    except ValueError as exc:
        form.add_error(None, str(exc))
        return _render(request, form, status=400)
    return _render(request, TokenForm(), secret=secret, new_token=token, status=201)


@any_role
@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = PersonalToken.objects.filter(pk=token_id).first()
    if token is None or token.user_id != request.user.pk:
        raise not_found(request, reason="not the owner of this API token", target=token)
    revoke_token(request.user, token)  # type: ignore[arg-type]
    return redirect("profile")

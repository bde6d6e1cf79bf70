"""Identity administration: an administrator links an IdP identity to an existing user (the
explicit step a login never takes on its own) or unlinks one; both go through the services,
so both are audited. Identities are never edited in place."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from portal.identity.services import LINK_ADMIN, IdentityConflictError, link_identity, unlink_identity
from portal.models import Identity


class IdentityLinkForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Identity
        fields = ["user", "provider", "issuer", "subject"]
        help_texts = {
            "provider": "The provider id, as in ENCLAVE_OIDC_PROVIDERS (e.g. entra).",
            "issuer": "The issuer exactly as the provider's ID tokens name it (iss).",
            "subject": "The value of the provider's subject claim (sub, or oid for Entra ID).",
        }


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = IdentityLinkForm
    list_display = ["provider", "subject", "issuer", "user", "created_at", "last_login_at"]
    list_filter = ["provider"]
    search_fields = ["=subject", "user__username"]
    raw_id_fields = ["user"]
    actions = ["unlink_selected"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["user", "provider", "issuer", "subject", "claims", "created_at", "last_login_at"] if obj else []

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # through the audited "unlink" action only

    def save_model(self, request: HttpRequest, obj: Identity, form: Any, change: bool) -> None:
        try:
            saved = link_identity(
                user=obj.user, provider=obj.provider, issuer=obj.issuer, subject=obj.subject, method=LINK_ADMIN,
                actor=request.user,
            )  # fmt: skip
        except IdentityConflictError as e:
            messages.error(request, str(e))
            return
        obj.pk = saved.pk

    @admin.action(description="Unlink the selected identities (audited)")
    def unlink_selected(self, request: HttpRequest, queryset: QuerySet[Identity]) -> None:
        identities = list(queryset.select_related("user"))
        for identity in identities:
            unlink_identity(identity=identity, actor=request.user, reason="unlinked in the admin")
        messages.success(request, f"Unlinked {len(identities)} identities.")

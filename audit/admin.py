"""The Django admin shows audit events read-only: no add, change or delete, for anyone."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["seq", "at", "actor_label", "action", "outcome", "target_type", "target_id", "request_id"]
    list_filter = ["outcome"]
    search_fields = ["=request_id", "=actor_label", "=action", "=target_id"]
    ordering = ["-seq"]
    show_full_result_count = False  # COUNT(*) over millions of rows on every page is not worth it
    list_per_page = 100
    actions = None
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

"""Django admin for data access: read-mostly views for operators. Changes to datasets and
policies go through the audited pages and API; requests, decisions and grants change only
through the services, so they are read-only here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from approvals.models import AccessRequest, ApprovalPolicy, Dataset, Decision, Grant


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "classification", "provider", "location", "policy", "active"]
    list_filter = ["classification", "provider", "active"]
    search_fields = ["name", "slug"]


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(ReadOnlyAdmin):
    list_display = ["name", "approver_group", "approvals_required", "max_duration_hours", "two_person_rule"]


class DecisionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Decision
    extra = 0
    can_delete = False
    readonly_fields = ["approver", "verdict", "stage", "comment", "decided_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "requester", "dataset", "state", "created_at", "decided_at"]
    list_filter = ["kind", "state"]
    list_select_related = ["requester", "dataset"]
    inlines = [DecisionInline]


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = ["id", "dataset", "workspace", "status", "expires_at", "applied_at", "removed_at"]
    list_filter = ["status"]
    list_select_related = ["dataset", "workspace"]

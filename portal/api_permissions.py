"""Who may read the API's OpenAPI schema: users with an Enclave role, or anyone when
``ENCLAVE_API_SCHEMA_PUBLIC`` says so explicitly."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.permissions import BasePermission

from core.roles import roles_of


class SchemaReader(BasePermission):
    message = "The API schema is for Enclave users with a role."

    def has_permission(self, request: Any, view: Any) -> bool:
        if settings.ENCLAVE_API_SCHEMA_PUBLIC:
            return True
        user = request.user
        return bool(user and user.is_authenticated and roles_of(user))

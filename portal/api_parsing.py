"""Strict parsing of API input shared by every app: bounded pagination and serializers that refuse
fields they do not know.

``BoundedLimitOffsetPagination`` caps ``limit`` at ``max_limit`` and refuses an ``offset`` no database
can use (instead of letting PostgreSQL or SQLite fail with a 500). ``StrictFieldsMixin`` makes a
serializer answer 400 naming the unknown fields of a body instead of silently dropping them.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

# OFFSET beyond this is refused: far past any real list, and well inside every database's integer range.
MAX_OFFSET = 10_000_000


def _bounded_int(request: Request, name: str, *, default: int, minimum: int, maximum: int, clamp: bool) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit()):
        raise ValidationError({name: [f"A whole number between {minimum} and {maximum}."]})
    value = int(text) if len(text) <= 18 else maximum + 1  # no int() of a 5,000-digit string
    if value < minimum:
        raise ValidationError({name: [f"A whole number between {minimum} and {maximum}."]})
    if value > maximum:
        if clamp:
            return maximum
        raise ValidationError({name: [f"A whole number between {minimum} and {maximum}."]})
    return value


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=`` (1..``max_limit``, larger values are capped) and ``?offset=`` (0..``MAX_OFFSET``);
    anything else is a 400 naming the parameter."""

    default_limit = 50
    max_limit = 200

    def get_limit(self, request: Request) -> int:
        assert self.default_limit is not None
        assert self.max_limit is not None
        return _bounded_int(
            request, self.limit_query_param, default=self.default_limit, minimum=1, maximum=self.max_limit, clamp=True
        )

    def get_offset(self, request: Request) -> int:
        return _bounded_int(request, self.offset_query_param, default=0, minimum=0, maximum=MAX_OFFSET, clamp=False)


class StrictFieldsMixin:
    """Refuse a body with fields the serializer does not declare: 400 naming them, so a typo
    (``justificaton``) or an invented field is never silently ignored. Declared read-only fields are
    tolerated, so a client may send back what it read."""

    initial_data: Any
    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) or hasattr(data, "keys"):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                raise ValidationError(
                    {key: ["Unknown field: this endpoint does not accept it."] for key in unknown[:20]}
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictSerializer(StrictFieldsMixin, serializers.Serializer[Any]):
    """A plain serializer for request bodies that refuses unknown fields."""

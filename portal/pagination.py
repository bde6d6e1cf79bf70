"""Keyset (cursor) pagination for every list page and list endpoint.

A page is cut by the values of its ordering keys, never by OFFSET: ``WHERE (created_at, id) <
(:last_created_at, :last_id) ORDER BY created_at DESC, id DESC LIMIT n + 1``, so page 1 and page
2,000 cost the same indexed query, and nothing counts the whole table. The ordering must end in
a unique key (the primary key) so every row has exactly one place.

The cursor is opaque to clients (URL-safe base64 of the direction and the boundary row's keys).
Bad input never reaches the database: a limit that is not a positive integer is a DRF
``ValidationError`` (400) and a cursor that does not decode is a DRF ``NotFound`` (404, as DRF's
own ``CursorPagination`` answers), so the API's exception handler — and the pages, which call
``page_from_request`` — answer them without a 500.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

import orjson
from django.core.exceptions import BadRequest, FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
CURSOR_PARAM = "cursor"
LIMIT_PARAM = "limit"
OFFSET_PARAM = "offset"
_MAX_CURSOR_CHARS = 1_000


def parse_limit(raw: Any, *, default: int = DEFAULT_LIMIT, max_limit: int = MAX_LIMIT) -> int:
    """The page size asked for: ``default`` when absent, capped at ``max_limit`` however large the
    number (a long run of digits is never converted); anything that is not a positive whole number
    raises ``ValidationError``."""
    if raw is None or raw == "":
        return default
    text = str(raw).strip()
    if not text.isdigit() or not text.isascii():
        raise ValidationError({LIMIT_PARAM: [f"Must be a whole number from 1 to {max_limit}."]})
    digits = text.lstrip("0")
    if not digits:
        raise ValidationError({LIMIT_PARAM: [f"Must be a whole number from 1 to {max_limit}."]})
    if len(digits) > len(str(max_limit)):
        return max_limit
    return min(int(digits), max_limit)


@dataclass(frozen=True)
class Cursor:
    forward: bool  # True: rows after the boundary in the ordering (the next page); False: before it
    keys: tuple[Any, ...]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    return value


def encode_cursor(cursor: Cursor) -> str:
    body = orjson.dumps(["n" if cursor.forward else "p", [_plain(k) for k in cursor.keys]])
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


def decode_cursor(text: str, fields: Sequence[models.Field[Any, Any]]) -> Cursor:
    """The cursor a previous page handed out, its keys converted back to the fields' types;
    anything else raises ``NotFound``."""
    if len(text) > _MAX_CURSOR_CHARS:
        raise NotFound("Invalid cursor.")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        direction, values = orjson.loads(raw)
        if direction not in ("n", "p") or not isinstance(values, list) or len(values) != len(fields):
            raise ValueError("wrong shape")
        keys = []
        for field, value in zip(fields, values, strict=True):
            if value is None or isinstance(value, list | dict):
                raise ValueError("not a key")
            keys.append(field.to_python(value))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError, DjangoValidationError) as exc:
        raise NotFound("Invalid cursor.") from exc
    return Cursor(direction == "n", tuple(keys))


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    rows: list[T]
    limit: int
    next_cursor: str | None  # the page after this one, in the list's order
    previous_cursor: str | None  # the page before it

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


def _split(ordering: Sequence[str]) -> list[tuple[str, bool]]:
    """[(field name, descending)] of an ordering such as ``("-created_at", "-pk")``."""
    return [(term.lstrip("-"), term.startswith("-")) for term in ordering]


def _model_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    if name == "pk":
        return model._meta.pk  # type: ignore[return-value]
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist as exc:
        raise ImproperlyOrdered(f"{model.__name__} has no field {name!r} to paginate by") from exc
    if not isinstance(field, models.Field) or field.null:
        raise ImproperlyOrdered(f"{model.__name__}.{name} cannot be a keyset key (it must be a non-null column)")
    return field


class ImproperlyOrdered(Exception):
    """A programming error: the ordering cannot key a page."""


def _after(terms: list[tuple[str, bool]], keys: Sequence[Any], *, forward: bool) -> Q:
    """Rows strictly after ``keys`` in the ordering (or strictly before when not ``forward``):
    ``k1 > v1 OR (k1 = v1 AND k2 > v2) OR ...``, with each comparison flipped for descending keys.
    The first key also gets a plain range (``k1 >= v1``), which is what lets the index on it
    bound the scan."""
    clauses = Q()
    equal: dict[str, Any] = {}
    for (name, descending), value in zip(terms, keys, strict=True):
        op = "lt" if descending == forward else "gt"
        clauses |= Q(**equal, **{f"{name}__{op}": value})
        equal[name] = value
    first, descending = terms[0]
    bound = "lte" if descending == forward else "gte"
    return Q(**{f"{first}__{bound}": keys[0]}) & clauses


def _key_of(row: Any, fields: Sequence[models.Field[Any, Any]], names: Sequence[str]) -> tuple[Any, ...]:
    if isinstance(row, Mapping):  # a values() row: keyed by the name asked for ("pk" is the pk's name)
        return tuple(row[f.name if n == "pk" else n] for f, n in zip(fields, names, strict=True))
    return tuple(getattr(row, f.attname) for f in fields)


def keyset_page(
    qs: QuerySet[Any],
    *,
    ordering: Sequence[str],
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> KeysetPage[Any]:
    """One page of ``qs`` in ``ordering`` (which must end in a unique key) from ``cursor``.

    ``qs`` may be a ``values()`` queryset; it must then include the ordering's fields (``pk``
    is read as the model's primary-key name). One query: ``limit + 1`` rows tell whether
    there is more, and the direction the cursor came from tells there is a page behind.
    """
    terms = _split(ordering)
    model = qs.model
    fields = [_model_field(model, name) for name, _ in terms]
    names = [name for name, _ in terms]
    current = decode_cursor(cursor, fields) if cursor else None
    forward = current.forward if current is not None else True
    order = list(ordering) if forward else [t[1:] if t.startswith("-") else f"-{t}" for t in ordering]
    if current is not None:
        qs = qs.filter(_after(terms, current.keys, forward=forward))
    rows = list(qs.order_by(*order)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if not forward:
        rows.reverse()
    if not rows:
        return KeysetPage(rows, limit, None, None)
    first, last = _key_of(rows[0], fields, names), _key_of(rows[-1], fields, names)
    has_next = more if forward else current is not None
    has_previous = current is not None if forward else more
    return KeysetPage(
        rows,
        limit,
        encode_cursor(Cursor(True, last)) if has_next else None,
        encode_cursor(Cursor(False, first)) if has_previous else None,
    )


@contextmanager
def page_errors(request: Any) -> Iterator[None]:
    """Around pagination for a request: an API request keeps DRF's ``ValidationError``/``NotFound``
    (its exception handler answers them); a page gets Django's ``BadRequest``/``Http404``, which
    Django itself answers with 400/404 — never a 500."""
    try:
        yield
    except ValidationError as exc:
        if isinstance(request, Request):
            raise
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}") from exc
    except NotFound as exc:
        if isinstance(request, Request):
            raise
        raise Http404("Invalid cursor.") from exc


def request_params(request: Any, *, default: int = DEFAULT_LIMIT, max_limit: int = MAX_LIMIT) -> tuple[str | None, int]:
    """(cursor, limit) from ``?cursor=&limit=`` (call inside ``page_errors``)."""
    params = request.query_params if isinstance(request, Request) else request.GET
    if OFFSET_PARAM in params:  # a client written for offset paging must not silently get page one
        raise ValidationError({OFFSET_PARAM: ["Lists page by cursor: follow the 'next' link instead of an offset."]})
    return params.get(CURSOR_PARAM) or None, parse_limit(params.get(LIMIT_PARAM), default=default, max_limit=max_limit)


def page_from_request(
    request: Any,
    qs: QuerySet[Any],
    *,
    ordering: Sequence[str],
    default: int = DEFAULT_LIMIT,
    max_limit: int = MAX_LIMIT,
) -> KeysetPage[Any]:
    """The page a request's query string (``?cursor=&limit=``) asks for (errors as ``page_errors``)."""
    with page_errors(request):
        cursor, limit = request_params(request, default=default, max_limit=max_limit)
        return keyset_page(qs, ordering=ordering, cursor=cursor, limit=limit)


def page_query(request: Any, cursor: str | None) -> str | None:
    """The current query string with ``cursor`` replaced (for a page's next/previous links)."""
    if cursor is None:
        return None
    query = request.GET.copy()
    query[CURSOR_PARAM] = cursor
    return "?" + query.urlencode()


@dataclass(frozen=True)
class BoundedCount:
    """A count that stops at ``bound``: "2,000" when exact, "200+" beyond the bound. Counting
    every row of a big table on every request is what makes a list page slow."""

    value: int
    bound: int

    @property
    def exact(self) -> bool:
        return self.value <= self.bound

    def __int__(self) -> int:
        return min(self.value, self.bound)

    def __str__(self) -> str:
        return f"{self.value:,}" if self.exact else f"{self.bound:,}+"


def bounded_count(qs: QuerySet[Any], bound: int = MAX_LIMIT) -> BoundedCount:
    """``SELECT count(*) FROM (... LIMIT bound + 1)``: reads at most ``bound + 1`` index entries."""
    return BoundedCount(qs.order_by()[: bound + 1].count(), bound)


class KeysetPagination(BasePagination):
    """DRF pagination over ``keyset_page``: ``?limit=`` (50 by default, at most 200) and an
    opaque ``?cursor=``; the body is ``{"next", "previous", "results"}`` — no count, because a
    count scans everything on every request. A view may set ``keyset_ordering``; otherwise the
    model's ``Meta.ordering`` followed by the primary key."""

    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def __init__(self) -> None:
        self.page: KeysetPage[Any] | None = None
        self.request: Request | None = None

    @staticmethod
    def ordering_for(qs: QuerySet[Any], view: Any) -> tuple[str, ...]:
        ordering = getattr(view, "keyset_ordering", None)
        if ordering:
            return tuple(ordering)
        declared = [str(term) for term in (qs.query.order_by or qs.model._meta.ordering or [])]
        if not any(term.lstrip("-") in {"pk", qs.model._meta.pk.name} for term in declared):  # type: ignore[union-attr]
            declared.append("-pk" if declared and declared[0].startswith("-") else "pk")
        return tuple(declared)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.page = page_from_request(
            request,
            queryset,
            ordering=self.ordering_for(queryset, view),
            default=self.default_limit,
            max_limit=self.max_limit,
        )
        return self.page.rows

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None or self.request is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, CURSOR_PARAM, cursor)

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None
        return Response(
            {
                "next": self._link(self.page.next_cursor),
                "previous": self._link(self.page.previous_cursor),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": CURSOR_PARAM,
                "required": False,
                "in": "query",
                "description": "The opaque cursor of the page to read (from next or previous).",
                "schema": {"type": "string"},
            },
            {
                "name": LIMIT_PARAM,
                "required": False,
                "in": "query",
                "description": f"Rows per page: {self.default_limit} by default, at most {self.max_limit}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_limit},
            },
        ]


__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "BoundedCount",
    "Cursor",
    "KeysetPage",
    "KeysetPagination",
    "bounded_count",
    "decode_cursor",
    "encode_cursor",
    "keyset_page",
    "page_errors",
    "page_from_request",
    "page_query",
    "parse_limit",
    "request_params",
]

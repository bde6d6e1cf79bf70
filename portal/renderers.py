"""The API's JSON renderer: orjson encodes a page of rows in C, without the per-value Python
calls of ``json.dumps`` with DRF's encoder.

It writes what ``rest_framework.renderers.JSONRenderer`` writes for the API's data (compact
UTF-8, datetimes in ISO 8601, UUIDs and decimals as strings, lazy strings as text), so the
switch changes no client-visible value."""

from __future__ import annotations

import decimal
from typing import Any

import orjson
from django.utils.functional import Promise
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


_DRF = JSONEncoder()


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal | Promise):
        return str(value)
    return _DRF.default(value)  # datetimes (DRF's format), dates, times, timedeltas, sets, ...


class ORJSONRenderer(JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        indent = self.get_indent(accepted_media_type or "", renderer_context or {})
        options = _OPTIONS | (orjson.OPT_INDENT_2 if indent else 0)
        return orjson.dumps(data, default=_default, option=options)

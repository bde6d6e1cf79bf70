"""Checking one request body against Azure's published definition (see ``published``), as ARM does.

ARM deserialises a request body strictly into the resource provider's types, so
a property the api-version does not declare, a value outside a declared enum or
a value of the wrong JSON type is refused with ``400 InvalidRequestContent``
and Json.NET's words, e.g. (from ARM responses quoted in Azure SDK issues)::

    The request content was invalid and could not be deserialized: 'Could not find member
    'AccountType' on object of type 'ResourceDefinition'. Path 'AccountType', line 2, position 17.'.

``problems`` returns every such problem with its JSON path; ``arm_message``
words the first one as ARM would. Properties that the definition marks as not
settable by the operation (``visibility`` without ``create`` for a PUT) are
treated as undeclared for it: stricter than Azure, which may ignore them
silently, and what keeps the backend from sending a field Azure drops.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_PREFIX = "The request content was invalid and could not be deserialized: "


@dataclass(frozen=True)
class Problem:
    """One way a body departs from the definition: where (JSON path, Json.NET style) and what."""

    path: str
    reason: str  # "undeclared", "enum", "type", "required"
    detail: str  # Json.NET's sentence without the path

    def __str__(self) -> str:
        return f"{self.path or '(body)'}: {self.detail}"


def problems(body: Any, namespace: dict[str, Any], model: str, *, operation: str) -> list[Problem]:
    """Every problem of ``body`` as the ``model`` request of ``operation`` ("create" or "update")."""
    found: list[Problem] = []
    _check_model(body, namespace["models"], model, operation, "", found)
    return found


def arm_message(problem: Problem, raw: bytes | str) -> str:
    """ARM's ``InvalidRequestContent`` message for ``problem`` in the request text ``raw``."""
    line, position = _position(raw, problem.path)
    return f"{_PREFIX}'{problem.detail} Path '{problem.path}', line {line}, position {position}.'."


def _check_model(value: Any, models: dict[str, Any], name: str, operation: str, path: str, out: list[Problem]) -> None:
    definition = models[name]
    if not isinstance(value, dict):
        out.append(Problem(path, "type", f"Error converting value {_show(value)} to type '{_short(name)}'."))
        return
    discriminator = definition.get("discriminator")
    if discriminator:
        kind = value.get(discriminator)
        subtypes: dict[str, str] = definition.get("subtypes", {})
        match = next(
            (sub for key, sub in subtypes.items() if isinstance(kind, str) and key.lower() == kind.lower()), None
        )
        if kind is None:
            out.append(Problem(path, "required", f"Required property '{discriminator}' not found in JSON."))
            return
        if match is None:
            where = _join(path, discriminator)
            out.append(Problem(where, "enum", f"Error converting value {_show(kind)} to type '{_short(name)}Type'."))
            return
        definition, name = models[match], match
    declared: dict[str, Any] = definition["properties"]
    lowered = {key.lower(): key for key in declared}
    for key, item in value.items():
        where = _join(path, key)
        field = declared.get(key) or declared.get(lowered.get(key.lower(), ""))
        if field is None or operation not in field["visibility"]:
            out.append(
                Problem(where, "undeclared", f"Could not find member '{key}' on object of type '{_short(name)}'.")
            )
            continue
        if item is not None:
            _check_value(item, field["type"], models, operation, where, out)
    present = {key.lower() for key, item in value.items() if item is not None}
    for key, field in declared.items():
        if field["required"] and operation in field["visibility"] and key.lower() not in present:
            out.append(Problem(path, "required", f"Required property '{key}' not found in JSON."))


def _check_value(
    value: Any, node: dict[str, Any], models: dict[str, Any], operation: str, path: str, out: list[Problem]
) -> None:
    kind = node["kind"]
    if kind == "model":
        _check_model(value, models, node["name"], operation, path, out)
    elif kind == "array":
        if not isinstance(value, list):
            out.append(Problem(path, "type", f"Error converting value {_show(value)} to type 'List'."))
            return
        for index, item in enumerate(value):
            _check_value(item, node["items"], models, operation, f"{path}[{index}]", out)
    elif kind == "map":
        if not isinstance(value, dict):
            out.append(Problem(path, "type", f"Error converting value {_show(value)} to type 'Dictionary'."))
            return
        for key, item in value.items():
            _check_value(item, node["values"], models, operation, _join(path, key), out)
    elif kind == "enum":
        values = [str(v).lower() for v in node["values"]]
        if not isinstance(value, str) or value.lower() not in values:
            out.append(Problem(path, "enum", f"Error converting value {_show(value)} to type '{node['name']}'."))
    elif not _scalar_ok(value, kind):
        out.append(Problem(path, "type", f"Error converting value {_show(value)} to type '{_NET_TYPES[kind]}'."))


_NET_TYPES = {
    "string": "System.String",
    "boolean": "System.Boolean",
    "integer": "System.Int64",
    "number": "System.Double",
    "date-time": "System.DateTime",
    "duration": "System.TimeSpan",
    "any": "System.Object",
}


def _scalar_ok(value: Any, kind: str) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind in ("string", "date-time", "duration"):
        return isinstance(value, str)
    return True


def _join(path: str, key: str) -> str:
    segment = key if re.fullmatch(r"[A-Za-z_$][\w$]*", key) else f"['{key}']"
    if not path:
        return segment
    return path + segment if segment.startswith("[") else f"{path}.{segment}"


def _short(name: str) -> str:
    """A flattened msrest ``X.properties`` model is .NET's ``XProperties`` (less "CreateParameters")."""
    if not name.endswith(".properties"):
        return name
    return name.rsplit(".", 1)[0].removesuffix("CreateParameters") + "Properties"


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else json.dumps(value)[:60]


def _position(raw: bytes | str, path: str) -> tuple[int, int]:
    """Line and position (1-based, after the member name) of ``path``'s last member in ``raw``, best effort."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    last = re.split(r"[.\[]", path)[-1].strip("]'") if path else ""
    index = text.find(f'"{last}"') if last else -1
    if index < 0:
        return 1, len(text)
    end = index + len(last) + 2
    before = text[:end]
    return before.count("\n") + 1, end - (before.rfind("\n") + 1)

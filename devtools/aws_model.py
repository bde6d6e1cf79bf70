"""botocore's AWS service models as the stand-in's referee: requests it answers itself are validated the way
AWS validates them, from the same model the SDK is generated from.

moto is lenient (it skips most length, range, enum and pattern constraints), so the operations the stand-in
handles itself check their input here first and refuse it with AWS's own wording::

    1 validation error detected: Value 'ml.nope' at 'instanceType' failed to satisfy constraint:
    Member must satisfy enum value set: [ml.t2.medium, ...]

``shape_problems`` checks a response the same way (tests use it on what the stand-in answers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

# The validation error code a protocol uses on the wire: SageMaker's JSON API says ValidationException,
# IAM's query API says ValidationError (both listed in AWS's "Common Errors" of each API reference).
VALIDATION_ERROR_CODE = {"json": "ValidationException", "query": "ValidationError"}


@cache
def service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def operation_model(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation)


def wire_name(member: str) -> str:
    """AWS names a member in validation messages in lower camel case (``instanceType``)."""
    return member[:1].lower() + member[1:]


# Java-style Unicode classes in AWS patterns (tag keys and values), in Python ``re`` terms: \w stands in for
# letters and numbers (it also takes "_", which those patterns allow anyway).
_UNICODE_CLASSES = {
    r"\p{L}": r"\w",
    r"\p{N}": r"\w",
    r"\p{Z}": r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000",
}


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    """The model's pattern for Python's ``re``; ``None`` (not checked) for a syntax ``re`` cannot read."""
    for java, python in _UNICODE_CLASSES.items():
        pattern = pattern.replace(java, python)
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _value(value: Any) -> str:
    return "null" if value is None else f"'{value}'"


def _scalar_problems(shape: Shape, value: Any, path: str) -> list[str]:
    meta = shape.metadata
    prefix = f"Value {_value(value)} at '{path}' failed to satisfy constraint: Member must"
    problems = []
    if shape.type_name == "string":
        if not isinstance(value, str):
            return [f"{prefix} be a string"]
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"{prefix} have length greater than or equal to {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{prefix} have length less than or equal to {meta['max']}")
        if shape.enum and value not in shape.enum:
            problems.append(f"{prefix} satisfy enum value set: [{', '.join(shape.enum)}]")
        compiled = _pattern(meta["pattern"]) if "pattern" in meta else None
        if compiled is not None and compiled.fullmatch(value) is None:
            problems.append(f"{prefix} satisfy regular expression pattern: {meta['pattern']}")
    elif shape.type_name in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{prefix} be an integer"]
        if "min" in meta and value < meta["min"]:
            problems.append(f"{prefix} have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            problems.append(f"{prefix} have value less than or equal to {meta['max']}")
    elif shape.type_name == "boolean" and not isinstance(value, bool):
        problems.append(f"{prefix} be a boolean")
    return problems


def input_problems(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Every constraint of ``shape`` that ``value`` breaks, worded as AWS words it (empty: valid)."""
    if shape.type_name == "structure":
        if not isinstance(value, Mapping):
            return [f"Value at '{path}' failed to satisfy constraint: Member must be a structure"]
        problems = []
        for name in shape.required_members:
            if value.get(name) is None:
                member_path = f"{path}.{wire_name(name)}" if path else wire_name(name)
                problems.append(f"Value null at '{member_path}' failed to satisfy constraint: Member must not be null")
        for name, member in shape.members.items():
            if value.get(name) is not None:
                member_path = f"{path}.{wire_name(name)}" if path else wire_name(name)
                problems += input_problems(member, value[name], member_path)
        return problems
    if shape.type_name == "list":
        if not isinstance(value, list):
            return [f"Value at '{path}' failed to satisfy constraint: Member must be a list"]
        problems = []
        meta = shape.metadata
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"Value at '{path}' failed to satisfy constraint: Member must have length greater "
                            f"than or equal to {meta['min']}")  # fmt: skip
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"Value at '{path}' failed to satisfy constraint: Member must have length less "
                            f"than or equal to {meta['max']}")  # fmt: skip
        for index, item in enumerate(value, start=1):
            problems += input_problems(shape.member, item, f"{path}.{index}.member")
        return problems
    if shape.type_name == "map":
        return (
            []
            if isinstance(value, Mapping)
            else [f"Value at '{path}' failed to satisfy constraint: Member must be a map"]
        )
    return _scalar_problems(shape, value, path)


def validation_message(problems: list[str]) -> str:
    """AWS's summary line for a request that breaks the model's constraints."""
    count = len(problems)
    return f"{count} validation error{'s' if count > 1 else ''} detected: {'; '.join(problems)}"


def validate_request(service: str, operation: str, params: Mapping[str, Any]) -> str | None:
    """AWS's validation message for ``params`` of ``operation``, or ``None`` if the model accepts them."""
    shape = operation_model(service, operation).input_shape
    problems = input_problems(shape, params) if shape is not None else []
    return validation_message(problems) if problems else None


def shape_problems(shape: Shape | None, value: Any, path: str = "$") -> list[str]:
    """Where a (JSON-decoded) response breaks ``shape``: unknown members, wrong types, missing required
    members, values outside an enum. Timestamps may be numbers (epoch seconds), ISO 8601 strings or, in a
    response botocore parsed, datetimes.
    """
    if shape is None:
        return [] if value in (None, {}, b"", "") else [f"{path}: the operation has no output, got {value!r}"]
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        problems = [f"{path}.{key}: not a member of {shape.name}" for key in value if key not in shape.members]
        problems += [f"{path}.{name}: required but missing" for name in shape.required_members if name not in value]
        for name, member in shape.members.items():
            if value.get(name) is not None:
                problems += shape_problems(member, value[name], f"{path}.{name}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        return [p for i, item in enumerate(value) for p in shape_problems(shape.member, item, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, Mapping):
            return [f"{path}: expected a map, got {type(value).__name__}"]
        return [p for k, v in value.items() for p in shape_problems(shape.value, v, f"{path}[{k!r}]")]
    expected: dict[str, tuple[type, ...]] = {
        "string": (str,),
        "integer": (int,),
        "long": (int,),
        "boolean": (bool,),
        "timestamp": (int, float, str, datetime),
        "float": (int, float),
        "double": (int, float),
        "blob": (str, bytes),
    }
    types = expected.get(kind, (object,))
    if not isinstance(value, types) or (kind in ("integer", "long") and isinstance(value, bool)):
        return [f"{path}: expected {kind}, got {type(value).__name__} {value!r}"]
    if kind == "string" and shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} is not one of {shape.name}'s values"]
    return []

"""Azure's published request definitions, derived from Microsoft's generated SDK models, for the fake ARM.

The fake ARM must not agree with our mistakes, so it does not describe Azure's
API itself: it checks request bodies against a schema derived mechanically
from models that Microsoft generates from Azure's published REST definitions —

- Machine Learning Services at ``COMPUTE_API_VERSION``: the TypeSpec-generated
  ARM client shipped inside ``azure-ai-ml`` (``_restclient.arm_ml_service``),
  whose models carry ``rest_field`` names, visibilities, typed annotations and
  discriminators;
- Authorization at ``AUTHORIZATION_API_VERSION``: the msrest models of
  ``azure-mgmt-authorization`` (``_attribute_map`` and ``_validation``).

``azure-ai-ml`` is a development dependency only, so the derived schema is
kept as a snapshot beside this file (``published_schema.json``), which the fake
loads; ``python -m devtools.fake_arm.write_schema`` rewrites it, and a test fails
whenever the snapshot differs from what the installed packages derive.
"""

from __future__ import annotations

import enum
import json
import sys
import types
import typing
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

COMPUTE_API_VERSION = "2025-12-01"
AUTHORIZATION_API_VERSION = "2022-04-01"
ML = "machinelearningservices"
AUTHORIZATION = "authorization"
SNAPSHOT = Path(__file__).with_name("published_schema.json")

_ML_MODELS = "azure.ai.ml._restclient.arm_ml_service.models"
_AUTHZ_MODELS = "azure.mgmt.authorization.v2022_04_01.models"
# Request bodies the fake validates, per namespace: the root models and what they reach.
_ML_ROOTS = ("ComputeResource", "ClusterUpdateParameters")
_AUTHZ_ROOTS = ("RoleAssignmentCreateParameters",)
_SCALARS: dict[Any, str] = {str: "string", bool: "boolean", int: "integer", float: "number", bytes: "string"}


@cache
def load_published_schema() -> dict[str, Any]:
    """The checked-in snapshot: ``{namespace: {"source": {...}, "models": {...}}}``."""
    return typing.cast(dict[str, Any], json.loads(SNAPSHOT.read_text()))


def derive_published_schema() -> dict[str, Any]:
    """Derive both namespaces from the installed packages (needs ``azure-ai-ml``)."""
    return {ML: _derive_ml(), AUTHORIZATION: _derive_authorization()}


# --- Machine Learning Services: TypeSpec models (azure-ai-ml) ---------------------------------


def _derive_ml() -> dict[str, Any]:
    import importlib
    import warnings

    with warnings.catch_warnings():  # importing azure.ai.ml loads its marshmallow schemas, which warn
        warnings.simplefilter("ignore")
        models = importlib.import_module(_ML_MODELS)
    impl = importlib.import_module(_ML_MODELS + "._models")
    from azure.ai.ml._restclient.arm_ml_service import _configuration
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import Model, _RestField

    default_version = _configured_api_version(_configuration)
    if default_version != COMPUTE_API_VERSION:
        raise RuntimeError(f"azure-ai-ml's ARM client is at {default_version}, not {COMPUTE_API_VERSION}")
    namespace = {**vars(impl), "_models": models}
    out: dict[str, Any] = {}
    queue = list(_ML_ROOTS)
    while queue:
        name = queue.pop()
        if name in out:
            continue
        cls = getattr(models, name)
        hints = typing.get_type_hints(cls, globalns=namespace)
        properties: dict[str, Any] = {}
        for mro_class in reversed(cls.__mro__):
            for attr, rf in vars(mro_class).items():
                if not isinstance(rf, _RestField) or attr.startswith("_"):
                    continue
                hint = hints.get(attr, Any)
                node = _ml_type(hint, Model, queue)
                if rf._is_discriminator and node.get("kind") == "enum" and mro_class is not cls:
                    continue  # a parent's open discriminator; the subtype's literal wins below
                properties[rf._rest_name_input or attr] = {
                    "type": node,
                    "visibility": sorted(rf._visibility or ["read", "create", "update", "delete", "query"]),
                    "required": not _is_optional(hint),
                }
        entry: dict[str, Any] = {"properties": dict(sorted(properties.items()))}
        mapping = vars(cls).get("__mapping__")
        discriminator = next(
            (
                rf._rest_name_input or a
                for a, rf in vars(cls).items()
                if isinstance(rf, _RestField) and rf._is_discriminator
            ),
            None,
        )
        if mapping and discriminator:
            entry["discriminator"] = discriminator
            entry["subtypes"] = {value: sub.__name__ for value, sub in sorted(mapping.items())}
            queue.extend(sub.__name__ for sub in mapping.values())
        out[name] = entry
    return {
        "source": _source("azure-ai-ml", _ML_MODELS, COMPUTE_API_VERSION),
        "models": dict(sorted(out.items())),
    }


def _configured_api_version(configuration: types.ModuleType) -> str:
    """The api-version the generated client sends by default (read from its configuration source)."""
    import inspect
    import re

    m = re.search(
        r'api_version: str = kwargs\.pop\("api_version", "([0-9-]+[a-z-]*)"\)', inspect.getsource(configuration)
    )
    return m.group(1) if m else ""


def _is_optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


def _enum(cls: type[enum.Enum]) -> dict[str, Any]:
    return {"kind": "enum", "name": cls.__name__, "values": [str(m.value) for m in cls]}


def _ml_type(hint: Any, model_base: type, queue: list[str]) -> dict[str, Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        enums = [a for a in rest if isinstance(a, type) and issubclass(a, enum.Enum)]
        if enums and all(a is str or a in enums for a in rest):
            return _enum(enums[0])
        return _ml_type(rest[0], model_base, queue) if len(rest) == 1 else {"kind": "any"}
    if origin is typing.Literal:
        return {"kind": "enum", "name": type(args[0]).__name__, "values": [str(getattr(a, "value", a)) for a in args]}
    if origin is list:
        return {"kind": "array", "items": _ml_type(args[0], model_base, queue)}
    if origin is dict:
        return {"kind": "map", "values": _ml_type(args[1], model_base, queue)}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum(hint)
    if isinstance(hint, type) and issubclass(hint, model_base):
        queue.append(hint.__name__)
        return {"kind": "model", "name": hint.__name__}
    if hint in _SCALARS:
        return {"kind": _SCALARS[hint]}
    if getattr(hint, "__name__", "") in ("datetime", "date"):
        return {"kind": "date-time"}
    if getattr(hint, "__name__", "") == "timedelta":
        return {"kind": "duration"}
    return {"kind": "any"}


# --- Authorization: msrest models (azure-mgmt-authorization) ----------------------------------


def _derive_authorization() -> dict[str, Any]:
    import importlib

    models = importlib.import_module(_AUTHZ_MODELS)
    impl = importlib.import_module(_AUTHZ_MODELS + "._models_py3")
    namespace = {**vars(impl), "_models": models}
    out: dict[str, Any] = {}
    queue = list(_AUTHZ_ROOTS)
    while queue:
        name = queue.pop()
        if name in out:
            continue
        cls = getattr(models, name)
        init_hints = typing.get_type_hints(cls.__init__, globalns=namespace)
        validation: dict[str, dict[str, Any]] = getattr(cls, "_validation", {})
        nested: dict[str, dict[str, Any]] = {}  # msrest flattens "properties.x" into the parent model
        for attr, spec in cls._attribute_map.items():
            rules = validation.get(attr, {})
            hint = init_hints.get(attr)
            node = _msrest_type(spec["type"], hint, models, queue)
            field = {
                "type": node,
                "visibility": ["read"] if rules.get("readonly") else ["create", "delete", "query", "read", "update"],
                "required": bool(rules.get("required")),
            }
            *parents, leaf = spec["key"].replace("\\.", "\0").split(".")
            target = nested.setdefault(".".join(parents), {})
            target[leaf.replace("\0", ".")] = field
        own = nested.pop("", {})
        for parent, fields in nested.items():
            sub_name = f"{name}.{parent}"
            out[sub_name] = {"properties": dict(sorted(fields.items()))}
            required = any(f["required"] for f in fields.values())
            visibility = sorted({v for f in fields.values() for v in f["visibility"]})
            own[parent] = {"type": {"kind": "model", "name": sub_name}, "visibility": visibility, "required": required}
        out[name] = {"properties": dict(sorted(own.items()))}
    return {
        "source": _source("azure-mgmt-authorization", _AUTHZ_MODELS, AUTHORIZATION_API_VERSION),
        "models": dict(sorted(out.items())),
    }


def _msrest_type(type_name: str, hint: Any, models: types.ModuleType, queue: list[str]) -> dict[str, Any]:
    if type_name.startswith("[") and type_name.endswith("]"):
        return {"kind": "array", "items": _msrest_type(type_name[1:-1], None, models, queue)}
    if type_name.startswith("{") and type_name.endswith("}"):
        return {"kind": "map", "values": _msrest_type(type_name[1:-1], None, models, queue)}
    scalar = {"str": "string", "bool": "boolean", "int": "integer", "float": "number", "iso-8601": "date-time"}
    if type_name in scalar:
        enums = [a for a in typing.get_args(hint) if isinstance(a, type) and issubclass(a, enum.Enum)]
        return _enum(enums[0]) if enums else {"kind": scalar[type_name]}
    if type_name == "object":
        return {"kind": "any"}
    candidate = getattr(models, type_name, None)
    if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
        return _enum(candidate)
    queue.append(type_name)
    return {"kind": "model", "name": type_name}


def _source(package: str, module: str, api_version: str) -> dict[str, str]:
    return {"package": package, "version": metadata.version(package), "module": module, "api_version": api_version}


def main(argv: list[str] | None = None) -> int:
    """``python -m devtools.fake_arm.write_schema [--check]``: rewrite (or check) the snapshot."""
    derived = derive_published_schema()
    text = json.dumps(derived, indent=1, sort_keys=True) + "\n"
    if "--check" in (argv if argv is not None else sys.argv[1:]):
        same = SNAPSHOT.exists() and SNAPSHOT.read_text() == text
        print("published schema snapshot is current" if same else "published schema snapshot is stale")
        return 0 if same else 1
    SNAPSHOT.write_text(text)
    print(f"wrote {SNAPSHOT}")
    return 0

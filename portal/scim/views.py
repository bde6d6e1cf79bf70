"""The SCIM 2.0 endpoints (RFC 7644): Users, Groups and the discovery endpoints, for one IdP
connection per bearer token. Thin: parse with scim2-models, call ``portal.scim.services``,
answer with SCIM bodies (``application/scim+json``) and SCIM error bodies.

Bearer-authenticated server-to-server calls with no cookie: CSRF protection does not apply
and is exempted here, explicitly and only here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    Group,
    InvalidValueException,
    ListResponse,
    MutabilityException,
    NotFoundException,
    PatchOp,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    UniquenessException,
)

from audit.actions import Action, Outcome
from audit.services import record
from core import context
from portal.models import ScimConnection, ScimGroup, ScimUser
from portal.scim import mapping, services
from portal.scim.mapping import POLICY, UserResource

CONTENT_TYPE = "application/scim+json"
Handler = Callable[..., HttpResponse]


def _json(data: Any, status: int = 200, **headers: str) -> HttpResponse:
    response = HttpResponse(json.dumps(data), status=status, content_type=CONTENT_TYPE)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _error(status: int, detail: str, scim_type: str | None = None) -> HttpResponse:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump(scim_ctx=Context.DEFAULT)
    response = _json(body, status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="Enclave SCIM"'
    return response


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/scim/v2").rstrip("/")


def scim_endpoint(view: Handler) -> Handler:
    """Bearer authentication by connection token, SCIM errors for every failure, the connection
    as the audit actor. Sessions and cookies play no part: a signed-in browser gets 401."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return _error(401, "A SCIM bearer token is required.")
        try:
            connection = services.authenticate(header[7:].strip())
        except services.ScimTokenError:
            record(
                action=Action.SCIM_AUTH_FAILED, outcome=Outcome.DENIED, system_actor="anonymous",
                details={"path": request.path[:200]},
            )  # fmt: skip
            return _error(401, "The SCIM bearer token is not valid.")
        with context.bind(system_actor=connection.actor_label):
            try:
                return view(request, connection, *args, **kwargs)
            except SCIMException as exc:
                error = exc.to_error()
                return _error(int(error.status or 400), str(error.detail or exc), error.scim_type)
            except ValidationError as exc:
                first = Error.from_validation_errors(exc)[0]
                return _error(int(first.status or 400), str(first.detail), first.scim_type or "invalidValue")
            except mapping.UnsupportedFilter as exc:
                return _error(400, str(exc), "invalidFilter")
            except json.JSONDecodeError:
                return _error(400, "The body is not JSON.", "invalidSyntax")

    return wrapper


def _body(request: HttpRequest) -> Any:
    return json.loads(request.body or b"{}")


def _patch_body(request: HttpRequest) -> Any:
    """The PATCH body, with Entra's ``"$ref": null`` left out of the entries a ``remove`` lists
    (a null there means "not given", and as a selector it would match no stored member)."""
    body = _body(request)
    for operation in body.get("Operations") or [] if isinstance(body, dict) else []:
        value = operation.get("value") if isinstance(operation, dict) else None
        if str(operation.get("op", "")).lower() == "remove" and isinstance(value, list):
            operation["value"] = [
                {k: v for k, v in entry.items() if v is not None} if isinstance(entry, dict) else entry
                for entry in value
            ]
    return body


def _params(request: HttpRequest) -> dict[str, Any]:
    """Query parameters of a GET, or the body of a POST /.search (RFC 7644 §3.4.3)."""
    if request.method == "POST":
        body = _body(request)
        if not isinstance(body, dict):
            raise InvalidValueException(detail="A search request is a JSON object.")
        return body
    return {k: request.GET.get(k) for k in ("filter", "startIndex", "count", "attributes", "excludedAttributes")}


def _response_parameters(model: Any, params: dict[str, Any]) -> ResponseParameters[Any] | None:
    wanted = {k: params[k] for k in ("attributes", "excludedAttributes") if params.get(k)}
    if not wanted:
        return None
    return ResponseParameters[model].model_validate(wanted)  # type: ignore[no-any-return]


def _page(params: dict[str, Any]) -> tuple[int, int]:
    try:
        start = max(int(params.get("startIndex") or 1), 1)
        raw_count = params.get("count")
        count = mapping.MAX_RESULTS if raw_count in (None, "") else int(raw_count)
        count = min(max(count, 0), mapping.MAX_RESULTS)
    except (TypeError, ValueError):
        raise InvalidValueException(detail="startIndex and count are integers.") from None
    return start, count


def _list(request: HttpRequest, qs: Any, render: Callable[[Any], Any], resource: str) -> HttpResponse:
    params = _params(request)
    model = UserResource if resource == "User" else Group
    expression = params.get("filter")
    if expression:
        qs = mapping.filtered(qs, str(expression), resource=resource)
    start, count = _page(params)
    selection = _response_parameters(model, params)
    total = qs.count()
    rows = list(qs[start - 1 : start - 1 + count]) if count else []
    resources = [render(r).model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=selection) for r in rows]
    body = {
        "schemas": [str(ListResponse.__schema__)],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
    return _json(body)


def _not_found(what: str) -> NotFoundException:
    return NotFoundException(detail=f"{what} not found")


# --- discovery ----------------------------------------------------------------------------------


@scim_endpoint
def service_provider_config(request: HttpRequest, connection: ScimConnection) -> HttpResponse:
    if request.method != "GET":
        return _error(405, "Method not allowed.")
    config = mapping.service_provider_config(_base_url(request))
    return _json(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _resource_types(base_url: str) -> list[ResourceType]:
    user_type = ResourceType.from_resource(UserResource)
    group_type = ResourceType.from_resource(Group)
    out = []
    for rt in (user_type, group_type):
        rt.meta = rt.meta or None
        data = rt.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        data["meta"] = {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/{rt.id}"}
        out.append(ResourceType.model_validate(data, scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    return out


def _schemas(base_url: str) -> list[Schema]:
    out = []
    for model in (mapping.EnclaveUser, mapping.EnterpriseUser, Group):
        schema = model.to_schema()
        data = schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        data["meta"] = {"resourceType": "Schema", "location": f"{base_url}/Schemas/{schema.id}"}
        out.append(Schema.model_validate(data, scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    return out


def _listing(items: list[Any]) -> HttpResponse:
    resources = [i.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE) for i in items]
    return _json(
        {
            "schemas": [str(ListResponse.__schema__)],
            "totalResults": len(resources),
            "startIndex": 1,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


@scim_endpoint
def resource_types(request: HttpRequest, connection: ScimConnection, name: str = "") -> HttpResponse:
    if request.method != "GET":
        return _error(405, "Method not allowed.")
    items = _resource_types(_base_url(request))
    if not name:
        return _listing(items)
    for item in items:
        if item.id == name or item.name == name:
            return _json(item.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise _not_found("ResourceType")


@scim_endpoint
def schemas(request: HttpRequest, connection: ScimConnection, schema_id: str = "") -> HttpResponse:
    if request.method != "GET":
        return _error(405, "Method not allowed.")
    items = _schemas(_base_url(request))
    if not schema_id:
        return _listing(items)
    for item in items:
        if item.id == schema_id:
            return _json(item.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise _not_found("Schema")


# --- users --------------------------------------------------------------------------------------


def _users(connection: ScimConnection) -> Any:
    return (
        ScimUser.objects.filter(connection=connection, deleted_at__isnull=True)
        .select_related("user", "connection")
        .prefetch_related("groups")
        .order_by("created_at", "id")
    )


def _user_or_404(connection: ScimConnection, pk: str) -> ScimUser:
    import uuid

    try:
        key = uuid.UUID(pk)
    except ValueError:
        raise _not_found("User") from None
    scim_user = _users(connection).filter(pk=key).first()
    if scim_user is None:
        raise _not_found("User")
    return scim_user


def _user_response(request: HttpRequest, scim_user: ScimUser, status: int = 200) -> HttpResponse:
    scim_user = _users(scim_user.connection).get(pk=scim_user.pk)
    resource = mapping.user_resource(scim_user, _base_url(request))
    ctx = Context.RESOURCE_CREATION_RESPONSE if status == 201 else Context.RESOURCE_QUERY_RESPONSE
    headers = {"Location": str(resource.meta.location)} if status == 201 and resource.meta else {}
    selection = _response_parameters(UserResource, dict(request.GET.items()))
    return _json(resource.model_dump(scim_ctx=ctx, response_parameters=selection), status, **headers)


def _check_user_name_free(connection: ScimConnection, user_name: str, exclude: Any = None) -> None:
    clash = _users(connection).filter(user_name__iexact=user_name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise UniquenessException(detail=f"userName {user_name!r} is already taken")


@scim_endpoint
def users_search(request: HttpRequest, connection: ScimConnection) -> HttpResponse:
    if request.method != "POST":
        return _error(405, "Method not allowed.")
    return _list(request, _users(connection), lambda u: mapping.user_resource(u, _base_url(request)), "User")


@scim_endpoint
def groups_search(request: HttpRequest, connection: ScimConnection) -> HttpResponse:
    if request.method != "POST":
        return _error(405, "Method not allowed.")
    return _list(request, _groups(connection), lambda g: mapping.group_resource(g, _base_url(request)), "Group")


@scim_endpoint
def users(request: HttpRequest, connection: ScimConnection) -> HttpResponse:
    if request.method == "GET":
        return _list(request, _users(connection), lambda u: mapping.user_resource(u, _base_url(request)), "User")
    if request.method != "POST":
        return _error(405, "Method not allowed.")
    resource = UserResource.model_validate(
        _body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY
    )
    external_id = (resource.external_id or "").strip()
    if external_id and _users(connection).filter(external_id=external_id).exists():
        raise UniquenessException(detail=f"a user with externalId {external_id!r} exists")
    _check_user_name_free(connection, resource.user_name or "")
    try:
        scim_user = services.provision_user(
            connection,
            external_id=external_id,
            user_name=resource.user_name or "",
            active=resource.active is not False,
            profile=mapping.user_profile(resource),
            resource=mapping.stored_user(resource),
        )
    except (IntegrityError, ValueError) as exc:
        raise UniquenessException(detail=str(exc)) from exc
    return _user_response(request, scim_user, 201)


def _save_user(scim_user: ScimUser, resource: Any) -> ScimUser:
    external_id = (resource.external_id or "").strip()
    if scim_user.external_id and external_id and external_id != scim_user.external_id:
        raise MutabilityException(detail="externalId is the IdP's object id and cannot change")
    _check_user_name_free(scim_user.connection, resource.user_name, exclude=scim_user.pk)
    try:
        return _update(scim_user, resource, external_id or scim_user.external_id)
    except ValueError as exc:
        raise UniquenessException(detail=str(exc)) from exc


def _update(scim_user: ScimUser, resource: Any, external_id: str) -> ScimUser:
    return services.update_user(
        scim_user,
        external_id=external_id,
        user_name=resource.user_name,
        active=resource.active is not False,
        profile=mapping.user_profile(resource),
        resource=mapping.stored_user(resource),
    )


@scim_endpoint
def user(request: HttpRequest, connection: ScimConnection, pk: str) -> HttpResponse:
    scim_user = _user_or_404(connection, pk)
    if request.method == "GET":
        return _user_response(request, scim_user)
    if request.method == "DELETE":
        services.delete_user(scim_user)
        return HttpResponse(status=204)
    current = mapping.user_resource(scim_user, _base_url(request))
    if request.method == "PUT":
        resource = UserResource.model_validate(
            _body(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY
        )
        if current.external_id is None:  # RFC 7643 §7: an immutable attribute not set yet may be set by a PUT
            current.external_id = resource.external_id
        resource.replace(current)
    elif request.method == "PATCH":
        patch = PatchOp[UserResource].model_validate(  # type: ignore[valid-type]
            _patch_body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
        patch.patch(current, scim_policy=POLICY)
        resource = current
    else:
        return _error(405, "Method not allowed.")
    return _user_response(request, _save_user(scim_user, resource))


# --- groups -------------------------------------------------------------------------------------


def _groups(connection: ScimConnection) -> Any:
    return ScimGroup.objects.filter(connection=connection).prefetch_related("members").order_by("created_at", "id")


def _group_or_404(connection: ScimConnection, pk: str) -> ScimGroup:
    import uuid

    try:
        key = uuid.UUID(pk)
    except ValueError:
        raise _not_found("Group") from None
    group = _groups(connection).filter(pk=key).first()
    if group is None:
        raise _not_found("Group")
    return group


def _group_response(request: HttpRequest, group: ScimGroup, status: int = 200) -> HttpResponse:
    group = _groups(group.connection).get(pk=group.pk)
    resource = mapping.group_resource(group, _base_url(request))
    ctx = Context.RESOURCE_CREATION_RESPONSE if status == 201 else Context.RESOURCE_QUERY_RESPONSE
    headers = {"Location": str(resource.meta.location)} if status == 201 and resource.meta else {}
    selection = _response_parameters(Group, dict(request.GET.items()))
    return _json(resource.model_dump(scim_ctx=ctx, response_parameters=selection), status, **headers)


def _check_members(connection: ScimConnection, ids: list[str]) -> list[str]:
    import uuid

    clean = []
    for value in ids:
        try:
            clean.append(str(uuid.UUID(value)))
        except ValueError:
            raise InvalidValueException(detail=f"member {value!r} is not a user of this service") from None
    known = {str(pk) for pk in _users(connection).filter(pk__in=clean).values_list("pk", flat=True)}
    unknown = [v for v in clean if v not in known]
    if unknown:
        raise InvalidValueException(detail=f"unknown members: {', '.join(unknown[:5])}")
    return clean


def _save_group(request: HttpRequest, connection: ScimConnection, group: ScimGroup | None, resource: Any) -> ScimGroup:
    name = (resource.display_name or "").strip()
    if not name:
        raise InvalidValueException(detail="displayName is required")
    clash = _groups(connection).filter(display_name__iexact=name)
    if group is not None:
        clash = clash.exclude(pk=group.pk)
    if clash.exists():
        raise UniquenessException(detail=f"a group named {name!r} exists")
    members = _check_members(connection, mapping.member_ids(resource))
    stored = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    for key in ("id", "meta"):
        stored.pop(key, None)
    return services.save_group(
        connection, group, display_name=name, external_id=(resource.external_id or "").strip(),
        member_ids=members, resource=stored,
    )  # fmt: skip


@scim_endpoint
def groups(request: HttpRequest, connection: ScimConnection) -> HttpResponse:
    if request.method == "GET":
        return _list(request, _groups(connection), lambda g: mapping.group_resource(g, _base_url(request)), "Group")
    if request.method != "POST":
        return _error(405, "Method not allowed.")
    resource = Group.model_validate(_body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY)
    return _group_response(request, _save_group(request, connection, None, resource), 201)


@scim_endpoint
def group(request: HttpRequest, connection: ScimConnection, pk: str) -> HttpResponse:
    found = _group_or_404(connection, pk)
    if request.method == "GET":
        return _group_response(request, found)
    if request.method == "DELETE":
        services.delete_group(found)
        return HttpResponse(status=204)
    current = mapping.group_resource(found, _base_url(request))
    if request.method == "PUT":
        resource = Group.model_validate(
            _body(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY
        )
        resource.replace(current)
    elif request.method == "PATCH":
        patch = PatchOp[Group].model_validate(
            _patch_body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
        patch.patch(current, scim_policy=POLICY)
        resource = current
    else:
        return _error(405, "Method not allowed.")
    return _group_response(request, _save_group(request, connection, found, resource))


@scim_endpoint
def not_found(request: HttpRequest, connection: ScimConnection, rest: str) -> HttpResponse:
    """Any other path under /scim/v2/: a SCIM 404 body, not the HTML page."""
    raise _not_found(f"/{rest}")


@scim_endpoint
def root_search(request: HttpRequest, connection: ScimConnection) -> HttpResponse:
    """POST /.search: Users then Groups (RFC 7644 §3.4.3). A filter naming an attribute one
    type lacks matches none of that type."""
    if request.method != "POST":
        return _error(405, "Method not allowed.")
    params = _params(request)
    base = _base_url(request)
    sources: list[tuple[Any, Callable[[Any], Any], str]] = [
        (_users(connection), lambda u: mapping.user_resource(u, base), "User"),
        (_groups(connection), lambda g: mapping.group_resource(g, base), "Group"),
    ]
    rows: list[tuple[Any, Callable[[Any], Any], Any]] = []
    total = 0
    start, count = _page(params)
    for qs, render, resource in sources:
        model = UserResource if resource == "User" else Group
        if params.get("filter"):
            try:
                qs = mapping.filtered(qs, str(params["filter"]), resource=resource)
            except mapping.UnsupportedFilter:
                continue
        n = qs.count()
        skip = max(start - 1 - total, 0)
        room = count - len(rows)
        if room > 0 and skip < n:
            rows += [(r, render, model) for r in qs[skip : skip + room]]
        total += n
    resources = [
        render(r).model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=_response_parameters(model, params))
        for r, render, model in rows
    ]
    return _json(
        {"schemas": [str(ListResponse.__schema__)], "totalResults": total, "startIndex": start,
         "itemsPerPage": len(resources), "Resources": resources}
    )  # fmt: skip

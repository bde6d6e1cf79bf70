"""A small fake Azure Resource Manager for the Azure ML backend's tests and the embedded demo.

It owns just enough of ARM, in the Machine Learning Services (``COMPUTE_API_VERSION``)
and Authorization (``AUTHORIZATION_API_VERSION``) REST shapes, for the real Azure
SDK to talk to it over HTTPS: compute instances (create, read, list, start, stop,
delete, with state changes that take a configurable delay and async-operation
status resources), role assignments at any scope, ARM-format errors,
bearer-token checks, a log of every request received and injectable faults. It
is never imported by product code.

It is held to Azure's published definition, not to our reading of it: every
compute and role-assignment request body is checked against the schema derived
from Microsoft's generated models (``published``), and an undeclared property,
a wrong enum value or a wrong type is refused with ARM's ``400
InvalidRequestContent`` (``validation``); only the api-versions that schema is
for are served; DELETE of a compute that does not exist answers 204, as
published. Azure silently dropping a property can be simulated
(``drop_instance_property``), as can a compute vanishing just before our delete.
"""

from __future__ import annotations

import json
import re
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devtools.fake_arm import studio
from devtools.fake_arm.certs import write_self_signed
from devtools.fake_arm.published import (
    AUTHORIZATION,
    AUTHORIZATION_API_VERSION,
    COMPUTE_API_VERSION,
    ML,
    load_published_schema,
)
from devtools.fake_arm.validation import arm_message, problems

DEFAULT_TOKEN = "fake-arm-token"
DEFAULT_TENANT_ID = "00000000-0000-0000-0000-0000000000aa"
GONE = "<gone>"

_ML = r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.MachineLearningServices"
_COMPUTES = re.compile(_ML + r"/workspaces/(?P<ws>[^/]+)/computes$", re.IGNORECASE)
_COMPUTE = re.compile(_ML + r"/workspaces/(?P<ws>[^/]+)/computes/(?P<name>[^/]+)$", re.IGNORECASE)
_COMPUTE_ACTION = re.compile(
    _ML + r"/workspaces/(?P<ws>[^/]+)/computes/(?P<name>[^/]+)/(?P<action>start|stop|restart)$", re.IGNORECASE
)
_OPERATION = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.MachineLearningServices/locations/(?P<loc>[^/]+)"
    r"/computeOperationsStatus/(?P<op>[^/]+)$",
    re.IGNORECASE,
)
_ROLE_ASSIGNMENTS = re.compile(r"(?P<scope>/.*?)/providers/Microsoft\.Authorization/roleAssignments$", re.IGNORECASE)
_ROLE_ASSIGNMENT = re.compile(
    r"(?P<scope>/.*?)/providers/Microsoft\.Authorization/roleAssignments/(?P<name>[^/]+)$", re.IGNORECASE
)
_PRINCIPAL_FILTER = re.compile(r"principalId\s+eq\s+'(?P<pid>[^']+)'", re.IGNORECASE)
_COMPUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")

# State machine of a compute instance: (current state, action) -> (transitional state, settled state).
_ACTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("Stopped", "start"): ("Starting", "Running"),
    ("Running", "stop"): ("Stopping", "Stopped"),
    ("Running", "restart"): ("Restarting", "Running"),
}


class ArmError(Exception):
    """An ARM error response: ``{"error": {"code", "message"}}`` with the HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class Fault:
    """An injected failure: the next ``count`` matching requests get this ARM error (``None`` = forever)."""

    status: int
    code: str
    message: str
    method: str = ""
    path_contains: str = ""
    retry_after: float | None = None
    count: int | None = 1

    def matches(self, method: str, path: str) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return self.path_contains.lower() in path.lower()


@dataclass
class _Compute:
    resource: dict[str, Any]
    state: str
    settles_to: str = ""
    settles_at: float = 0.0


@dataclass
class _Operation:
    compute_key: str
    done_at: float
    failed: bool = False


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FakeArmState:
    """Everything the fake knows; every access holds ``lock`` so handler threads never race."""

    token: str = DEFAULT_TOKEN
    delay: float = 2.0
    tenant_id: str = DEFAULT_TENANT_ID
    lock: threading.RLock = field(default_factory=threading.RLock)
    computes: dict[str, _Compute] = field(default_factory=dict)
    operations: dict[str, _Operation] = field(default_factory=dict)
    role_assignments: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    dropped_properties: set[str] = field(default_factory=set)  # instance properties Azure "ignores"
    vanish_on_delete: set[str] = field(default_factory=set)  # compute names deleted out of band first
    studio_links: studio.StudioLinks = field(default_factory=studio.StudioLinks)

    def reset(self) -> None:
        with self.lock:
            self.computes.clear()
            self.operations.clear()
            self.role_assignments.clear()
            self.requests.clear()
            self.faults.clear()
            self.dropped_properties.clear()
            self.vanish_on_delete.clear()

    # --- compute instances -----------------------------------------------------------

    def _settle(self, key: str) -> _Compute | None:
        compute = self.computes.get(key)
        if compute is None or not compute.settles_to or time.monotonic() < compute.settles_at:
            return compute
        if compute.settles_to == GONE:
            del self.computes[key]
            return None
        self._set_state(compute, compute.settles_to)
        compute.settles_to = ""
        return compute

    @staticmethod
    def _set_state(compute: _Compute, state: str, provisioning_state: str | None = None) -> None:
        compute.state = state
        props = compute.resource["properties"]
        props["properties"]["state"] = state
        props["modifiedOn"] = _now_iso()
        if provisioning_state is None:
            provisioning_state = {"Creating": "Creating", "Deleting": "Deleting", "CreateFailed": "Failed"}.get(
                state, "Succeeded"
            )
        props["provisioningState"] = provisioning_state

    def _transition(self, key: str, compute: _Compute, now_state: str, settles_to: str) -> str:
        self._set_state(compute, now_state)
        compute.settles_to = settles_to
        compute.settles_at = time.monotonic() + self.delay
        op_id = str(uuid.uuid4())
        self.operations[op_id] = _Operation(compute_key=key, done_at=compute.settles_at)
        return op_id

    def put_compute(self, m: re.Match[str], body: Any) -> tuple[int, dict[str, Any], str]:
        key = m.group(0).lower()
        if self._settle(key) is not None:
            raise ArmError(
                409,
                "Conflict",
                f"Compute instance '{m['name']}' already exists; its properties cannot be updated. "
                "Delete it and create it again.",
            )
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be parsed.")
        if not body.get("location"):
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        compute_props = body.get("properties") or {}
        if compute_props.get("computeType") != "ComputeInstance":
            raise ArmError(400, "BadRequest", "properties.computeType must be 'ComputeInstance'.")
        instance = compute_props.get("properties") or {}
        if not instance.get("vmSize"):
            raise ArmError(400, "BadRequest", "The field vmSize is required for a compute instance.")
        if not _COMPUTE_NAME.match(m["name"]):
            raise ArmError(
                400,
                "BadRequest",
                "Compute instance names must be 3 to 24 characters, start with a letter and contain only "
                "letters, digits and hyphens.",
            )
        resource_id = m.group(0)
        resource: dict[str, Any] = {
            "id": resource_id,
            "name": m["name"],
            "type": "Microsoft.MachineLearningServices/workspaces/computes",
            "location": body["location"],
            "tags": dict(body.get("tags") or {}),
            "properties": {
                **{k: v for k, v in compute_props.items() if k != "properties"},
                "computeLocation": body["location"],
                "createdOn": _now_iso(),
                "isAttachedCompute": False,
                "provisioningErrors": None,
                "properties": {
                    "applicationSharingPolicy": "Personal",
                    "computeInstanceAuthorizationType": "personal",
                    **{k: v for k, v in instance.items() if k not in self.dropped_properties},
                    "errors": None,
                },
            },
        }
        identity = body.get("identity") or {}
        if "SystemAssigned" in str(identity.get("type", "")):
            resource["identity"] = {
                **identity,
                "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, resource_id.lower())),
                "tenantId": self.tenant_id,
            }
        compute = _Compute(resource=resource, state="Creating")
        self.computes[key] = compute
        op_id = self._transition(key, compute, "Creating", "Running")
        return 201, resource, op_id

    def get_compute(self, m: re.Match[str]) -> dict[str, Any]:
        compute = self._settle(m.group(0).lower())
        if compute is None:
            raise ArmError(404, "ResourceNotFound", f"Compute '{m['name']}' was not found in the workspace.")
        return compute.resource

    def list_computes(self, m: re.Match[str]) -> dict[str, Any]:
        prefix = m.group(0).lower() + "/"
        keys = [k for k in list(self.computes) if k.startswith(prefix)]
        return {"value": [c.resource for k in keys if (c := self._settle(k)) is not None]}

    def compute_action(self, m: re.Match[str]) -> str:
        key = m.group(0).lower().rsplit("/", 1)[0]
        compute = self._settle(key)
        if compute is None:
            raise ArmError(404, "ResourceNotFound", f"Compute '{m['name']}' was not found in the workspace.")
        action = m["action"].lower()
        step = _ACTIONS.get((compute.state, action))
        if step is None:
            raise ArmError(
                409, "Conflict", f"Cannot {action} compute instance '{m['name']}' while it is {compute.state}."
            )
        return self._transition(key, compute, *step)

    def delete_compute(self, m: re.Match[str]) -> tuple[str, str] | None:
        """Start deleting: (operation id, location); ``None`` when there is no such compute (ARM answers 204)."""
        key = m.group(0).lower()
        if m["name"].lower() in self.vanish_on_delete:
            self.vanish_on_delete.discard(m["name"].lower())
            self.computes.pop(key, None)
        compute = self._settle(key)
        if compute is None:
            return None
        return self._transition(key, compute, "Deleting", GONE), str(compute.resource["location"])

    def operation_status(self, op_id: str) -> dict[str, Any]:
        op = self.operations.get(op_id)
        if op is None:
            raise ArmError(404, "ResourceNotFound", f"Operation '{op_id}' was not found.")
        self._settle(op.compute_key)
        status = "Failed" if op.failed else ("Succeeded" if time.monotonic() >= op.done_at else "InProgress")
        result: dict[str, Any] = {"name": op_id, "status": status}
        if op.failed:
            result["error"] = {"code": "InternalServerError", "message": "The operation failed."}
        return result

    def set_compute_state(self, name: str, state: str, errors: list[str] | None = None) -> None:
        """Force a compute into ``state`` (for failure tests); messages become ARM error entries."""
        with self.lock:
            for key, compute in self.computes.items():
                if key.endswith("/computes/" + name.lower()):
                    self._set_state(compute, state)
                    compute.settles_to = ""
                    entries = [{"error": {"code": "ComputeInstanceFailure", "message": e}} for e in errors or []]
                    compute.resource["properties"]["properties"]["errors"] = entries or None
                    if state == "CreateFailed":
                        compute.resource["properties"]["provisioningErrors"] = entries or None
                    for op in self.operations.values():
                        if op.compute_key == key:
                            op.failed = state in ("CreateFailed", "Unusable")
                    return
        raise KeyError(name)

    # --- role assignments ----------------------------------------------------------

    def put_role_assignment(self, m: re.Match[str], body: Any) -> tuple[int, dict[str, Any]]:
        scope, name = m["scope"], m["name"]
        try:
            uuid.UUID(name)
        except ValueError:
            raise ArmError(400, "InvalidRoleAssignmentId", f"The role assignment ID '{name}' is not valid.") from None
        props = (body or {}).get("properties") or {} if isinstance(body, dict) else {}
        if not props.get("roleDefinitionId") or not props.get("principalId"):
            raise ArmError(400, "InvalidRequestContent", "roleDefinitionId and principalId are required.")
        assignment_id = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
        for existing in self.role_assignments.values():
            same_grant = all(
                existing["properties"][k].lower() == str(v).lower()
                for k, v in (("scope", scope), ("roleDefinitionId", props["roleDefinitionId"]))
            ) and (existing["properties"]["principalId"] == props["principalId"])
            if existing["id"].lower() == assignment_id.lower() or same_grant:
                raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
        assignment = {
            "id": assignment_id,
            "name": name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "scope": scope,
                "roleDefinitionId": props["roleDefinitionId"],
                "principalId": props["principalId"],
                "principalType": props.get("principalType", "User"),
                "description": props.get("description"),
                "condition": props.get("condition"),
                "conditionVersion": props.get("conditionVersion"),
                "createdOn": _now_iso(),
                "updatedOn": _now_iso(),
            },
        }
        self.role_assignments[assignment_id.lower()] = assignment
        return 201, assignment

    def get_role_assignment(self, m: re.Match[str]) -> dict[str, Any]:
        assignment = self.role_assignments.get(m.group(0).lower())
        if assignment is None:
            raise ArmError(404, "RoleAssignmentNotFound", "The role assignment does not exist.")
        return assignment

    def delete_role_assignment(self, m: re.Match[str]) -> tuple[int, dict[str, Any] | None]:
        assignment = self.role_assignments.pop(m.group(0).lower(), None)
        return (200, assignment) if assignment is not None else (204, None)

    def list_role_assignments(self, m: re.Match[str], query: dict[str, str]) -> dict[str, Any]:
        scope = m["scope"].lower()
        pid = _PRINCIPAL_FILTER.search(query.get("$filter", ""))
        found = [
            a
            for a in self.role_assignments.values()
            if a["properties"]["scope"].lower() == scope
            and (pid is None or a["properties"]["principalId"] == pid["pid"])
        ]
        return {"value": found}


_UNDESERIALIZABLE = "The request content was invalid and could not be deserialized: "


def _validate(namespace: str, model: str, operation: str, body: Any, raw: bytes) -> None:
    """Refuse ``body`` as ARM would if it departs from the published definition of ``model``."""
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be parsed.")
    found = problems(body, load_published_schema()[namespace], model, operation=operation)
    if found:
        raise ArmError(400, "InvalidRequestContent", arm_message(found[0], raw))


def _require_api_version(query: dict[str, str], supported: str, resource_type: str) -> None:
    """Serve only the api-version whose published definition the fake validates against."""
    version = query.get("api-version", "")
    if version != supported:
        raise ArmError(
            400,
            "NoRegisteredProviderFound",
            f"No registered resource provider found for API version '{version}' and type '{resource_type}'. "
            f"The supported api-versions are '{supported}'.",
        )


class _Handler(BaseHTTPRequestHandler):
    server: _FakeArmServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        self.request = self.server.ssl_context.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        state = self.server.state
        split = urlsplit(self.path)
        path = re.sub("/{2,}", "/", split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        if path.startswith("/studio/") and self.command == "GET":
            self._studio(path, query)
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        entry: dict[str, Any] = {
            "time": time.time(),
            "method": self.command,
            "path": path,
            "query": query,
            "body": body,
        }
        try:
            if path.startswith("/_fake/"):
                status, payload, headers = self._control(path, body)
            else:
                with state.lock:
                    state.requests.append(entry)
                    entry["seq"] = len(state.requests)
                self._authorize()
                self._apply_fault(path)
                if "api-version" not in query:
                    raise ArmError(
                        400,
                        "MissingApiVersionParameter",
                        "The api-version query parameter (?api-version=) is required for all requests.",
                    )
                with state.lock:
                    status, payload, headers = self._route(path, query, body, raw)
        except ArmError as err:
            status, payload, headers = err.status, {"error": {"code": err.code, "message": err.message}}, err.headers
        entry["status"] = status
        self._send(status, payload, headers)

    def _studio(self, path: str, query: dict[str, str]) -> None:
        """Azure ML studio's compute page for a browser (no ARM token: studio has its own sign-in)."""
        state = self.server.state
        if m := studio.DEEP_LINK.match(path):
            key = f"{query.get('wsid', '')}/computes/{m['name']}".lower()
            with state.lock:
                compute = state._settle(key)
                assigned = (
                    (compute.resource["properties"]["properties"].get("personalComputeInstanceSettings") or {}).get(
                        "assignedUser"
                    )
                    if compute
                    else None
                )
            if compute is None or not assigned:
                self._html(404, studio.page("Not found", "<h1>Compute instance not found</h1>"))
                return
            claims = {
                "compute": m["name"],
                "workspace": query["wsid"],
                "assigned_user": assigned.get("objectId", ""),
                "tenant": query.get("tid") or assigned.get("tenantId", ""),
            }
            self._html(302, "", {"Location": studio.landing_url(state.studio_links.mint(claims))})
            return
        if path == studio.LANDING:
            checked = state.studio_links.check(query.get("link", ""))
            if checked is None:
                body = "<h1>This link has expired or is not valid</h1><p>Open the workspace again from Enclave.</p>"
                self._html(401, studio.page("Link expired", body))
                return
            with state.lock:
                compute = state._settle(f"{checked['workspace']}/computes/{checked['compute']}".lower())
            if compute is None:
                self._html(404, studio.page("Not found", "<h1>Compute instance not found</h1>"))
                return
            self._html(200, studio.compute_page(checked, compute.state))
            return
        self._html(404, studio.page("Not found", "<h1>Not found</h1>"))

    def _html(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        data = text.encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorize(self) -> None:
        expected = f"Bearer {self.server.state.token}"
        if self.headers.get("Authorization") != expected:
            raise ArmError(
                401,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
                {
                    "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
                    'error="invalid_token", error_description="The access token is invalid."'
                },
            )

    def _apply_fault(self, path: str) -> None:
        state = self.server.state
        with state.lock:
            fault = next((f for f in state.faults if f.matches(self.command, path)), None)
            if fault is None:
                return
            if fault.count is not None:
                fault.count -= 1
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        raise ArmError(fault.status, fault.code, fault.message, headers)

    def _operation_headers(self, sub: str, location: str, op_id: str) -> dict[str, str]:
        url = (
            f"{self.server.base_url}/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/"
            f"{location}/computeOperationsStatus/{op_id}?api-version={COMPUTE_API_VERSION}"
        )
        return {"Azure-AsyncOperation": url, "Location": url, "Retry-After": "1"}

    def _route(
        self, path: str, query: dict[str, str], body: Any, raw: bytes
    ) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        state = self.server.state
        method = self.command
        if m := _COMPUTE_ACTION.match(path):
            if method != "POST":
                raise ArmError(405, "MethodNotAllowed", f"{method} is not supported here.")
            _require_api_version(query, COMPUTE_API_VERSION, "workspaces/computes")
            if body not in (None, "", {}):
                # The published start/stop/restart operations take no request body.
                message = f"{_UNDESERIALIZABLE}'The {m['action']} operation has no request content.'."
                raise ArmError(400, "InvalidRequestContent", message)
            op_id = state.compute_action(m)
            location = state.computes[m.group(0).lower().rsplit("/", 1)[0]].resource["location"]
            return 202, None, self._operation_headers(m["sub"], location, op_id)
        if m := _COMPUTE.match(path):
            _require_api_version(query, COMPUTE_API_VERSION, "workspaces/computes")
            if method == "PUT":
                _validate(ML, "ComputeResource", "create", body, raw)
                status, resource, op_id = state.put_compute(m, body)
                return status, resource, self._operation_headers(m["sub"], resource["location"], op_id)
            if method == "PATCH":
                # Validated, then answered with the compute unchanged: compute instances have no
                # updatable scale settings, and the backend never patches.
                _validate(ML, "ClusterUpdateParameters", "update", body, raw)
                return 200, state.get_compute(m), {}
            if method == "GET":
                return 200, state.get_compute(m), {}
            if method == "DELETE":
                started = state.delete_compute(m)
                if started is None:
                    return 204, None, {}
                return 202, None, self._operation_headers(m["sub"], started[1], started[0])
        if (m := _COMPUTES.match(path)) and method == "GET":
            _require_api_version(query, COMPUTE_API_VERSION, "workspaces/computes")
            return 200, state.list_computes(m), {}
        if (m := _OPERATION.match(path)) and method == "GET":
            return 200, state.operation_status(m["op"]), {}
        if m := _ROLE_ASSIGNMENT.match(path):
            _require_api_version(query, AUTHORIZATION_API_VERSION, "roleAssignments")
            if method == "PUT":
                _validate(AUTHORIZATION, "RoleAssignmentCreateParameters", "create", body, raw)
                status, assignment = state.put_role_assignment(m, body)
                return status, assignment, {}
            if method == "GET":
                return 200, state.get_role_assignment(m), {}
            if method == "DELETE":
                status, maybe = state.delete_role_assignment(m)
                return status, maybe, {}
        if (m := _ROLE_ASSIGNMENTS.match(path)) and method == "GET":
            _require_api_version(query, AUTHORIZATION_API_VERSION, "roleAssignments")
            return 200, state.list_role_assignments(m, query), {}
        raise ArmError(404, "NoRegisteredProviderFound", f"The fake ARM does not serve {method} {path}.")

    def _control(self, path: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        state = self.server.state
        if path == "/_fake/requests" and self.command == "GET":
            with state.lock:
                return 200, {"value": list(state.requests)}, {}
        if path == "/_fake/faults" and self.command == "POST":
            try:
                fault = Fault(**body)
            except TypeError as exc:
                raise ArmError(400, "BadRequest", f"Invalid fault: {exc}") from None
            with state.lock:
                state.faults.append(fault)
            return 201, {"ok": True}, {}
        if path == "/_fake/reset" and self.command == "POST":
            state.reset()
            return 200, {"ok": True}, {}
        raise ArmError(404, "NotFound", f"No fake control endpoint {self.command} {path}.")

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)


class _FakeArmServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], state: FakeArmState, ssl_context: ssl.SSLContext, verbose: bool
    ) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.ssl_context = ssl_context
        self.verbose = verbose
        self.base_url = f"https://{address[0]}:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that connects and leaves without finishing the TLS handshake (a port probe, a
        # browser's speculative connection) is not an error worth a traceback in the demo's log.
        if isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _StudioHandler(_Handler):
    """Plain HTTP, studio pages only: the demo's browser reaches the studio stand-in on a loopback
    origin (a secure context, no certificate warning), while ARM itself stays HTTPS-only."""

    def setup(self) -> None:
        super(_Handler, self).setup()

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        if not split.path.startswith("/studio/") or self.command != "GET":
            self._html(404, studio.page("Not found", "<h1>Only Azure ML studio pages are served here</h1>"))
            return
        self._studio(split.path, {k: v[-1] for k, v in parse_qs(split.query).items()})


class _StudioServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: FakeArmState) -> None:
        super().__init__(address, _StudioHandler)
        self.state = state
        self.verbose = False


def start_studio(handle: FakeArmHandle, port: int, host: str = "127.0.0.1") -> tuple[str, Callable[[], None]]:
    """Also serve the studio pages of ``handle`` over plain HTTP on loopback; returns the studio URL and a stop."""
    server = _StudioServer((host, port), handle.state)
    thread = threading.Thread(target=server.serve_forever, name="fake-studio", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://{host}:{server.server_address[1]}/studio", stop


@dataclass
class FakeArmHandle:
    """A running fake ARM: where it listens, what to trust, and test controls (in-process, no HTTP)."""

    url: str
    ca_path: str
    token: str
    state: FakeArmState
    _server: _FakeArmServer
    _thread: threading.Thread
    _stopped: bool = False

    def requests(self, *, method: str = "", path_contains: str = "") -> list[dict[str, Any]]:
        """Every ARM request received so far (``/_fake`` control calls excluded), oldest first."""
        with self.state.lock:
            return [
                dict(r)
                for r in self.state.requests
                if (not method or r["method"] == method.upper()) and path_contains.lower() in r["path"].lower()
            ]

    def inject_fault(
        self,
        *,
        status: int,
        code: str,
        message: str = "Injected fault.",
        method: str = "",
        path_contains: str = "",
        retry_after: float | None = None,
        count: int | None = 1,
    ) -> None:
        """Fail the next ``count`` matching requests (``None``: until reset) with an ARM error."""
        with self.state.lock:
            self.state.faults.append(Fault(status, code, message, method, path_contains, retry_after, count))

    def clear_requests(self) -> None:
        """Forget the request log but keep resources and faults."""
        with self.state.lock:
            self.state.requests.clear()

    def set_compute_state(self, name: str, state: str, errors: list[str] | None = None) -> None:
        self.state.set_compute_state(name, state, errors)

    def drop_instance_property(self, name: str) -> None:
        """From now on accept ``name`` in a compute instance's create body but silently not keep it, as Azure
        may do with a property its api-version does not really honour (reading it back returns nothing)."""
        with self.state.lock:
            self.state.dropped_properties.add(name)

    def vanish_before_next_delete(self, name: str) -> None:
        """Delete compute ``name`` out of band just before the next DELETE for it arrives (that DELETE gets 204)."""
        with self.state.lock:
            self.state.vanish_on_delete.add(name.lower())

    def set_delay(self, seconds: float) -> None:
        with self.state.lock:
            self.state.delay = seconds

    def reset(self) -> None:
        self.state.reset()

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)


def start_fake_arm(
    port: int = 0,
    *,
    delay: float = 2.0,
    token: str = DEFAULT_TOKEN,
    tenant_id: str = DEFAULT_TENANT_ID,
    cert_dir: str | Path | None = None,
    host: str = "127.0.0.1",
    verbose: bool = False,
) -> FakeArmHandle:
    """Start the fake on ``host:port`` (0 = any free port) in a daemon thread and return its handle.

    A new self-signed certificate is written to ``cert_dir`` (a fresh temporary
    directory if omitted); give ``handle.ca_path`` to the client as its CA bundle.
    """
    if cert_dir is None:
        import tempfile

        cert_dir = tempfile.mkdtemp(prefix="fake-arm-")
    cert_path, key_path = write_self_signed(cert_dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    state = FakeArmState(token=token, delay=delay, tenant_id=tenant_id)
    server = _FakeArmServer((host, port), state, context, verbose)
    thread = threading.Thread(target=server.serve_forever, name="fake-arm", daemon=True)
    thread.start()
    return FakeArmHandle(
        url=server.base_url,
        ca_path=str(cert_path),
        token=token,
        state=state,
        _server=server,
        _thread=thread,
    )

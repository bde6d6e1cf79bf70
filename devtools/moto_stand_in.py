"""The local AWS for the demo and the tests: moto's server plus the SageMaker behaviour Enclave relies on.

moto answers every AWS API; a WSGI layer in front of it (moto's own code is not patched) adds what moto
lacks: ``CreatePresignedNotebookInstanceUrl`` and the page its URL opens, notebook instances that take
time to change state (``Pending`` → ``InService``, ``Stopping`` → ``Stopped``, ``Deleting`` → gone) and
AWS-like refusals of invalid transitions, IAM's refusal of a permissions boundary that does not exist
(``NoSuchEntity``, which moto does not check), the input constraints of botocore's service model for every
operation it answers itself (``devtools.aws_model``; moto skips most of them), and fault injection over HTTP::

    POST   /enclave-faults  {"action": "CreateNotebookInstance", "code": "ResourceLimitExceeded",
                             "message": "...", "status": 400, "count": 1}
           {"action": "CreateNotebookInstance", "failure_reason": "..."}   (accepted, then ends Failed)
    GET    /enclave-faults  the faults still armed
    DELETE /enclave-faults  disarm all
    GET|POST /enclave-config {"provision_delay": 1.5}
    POST   /moto-api/reset  moto's reset, which also clears this layer's state

Run it with ``python -m devtools.moto_stand_in --host 127.0.0.1 --port 5000 --provision-delay 3`` (add
``--seed-demo`` for the AWS resources the demo catalog's templates name, see ``devtools.aws_seed``), or
from tests with :func:`start_stand_in`, which runs it in a child process so that moto's process-wide
state never mixes with any ``mock_aws`` used in the test process.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from moto.core.utils import utcnow
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from devtools.aws_model import VALIDATION_ERROR_CODE, operation_model, validate_request
from devtools.s3_object_lock import ObjectLockGuard

REPO_ROOT = Path(__file__).resolve().parent.parent
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# moto accepts only an old, fixed list of notebook instance types (no ml.g4dn/ml.g5/...): any type in
# botocore's model (checked first) is sent to moto as this one and written back on the instance after creation.
MOTO_KNOWN_INSTANCE_TYPE = "ml.t3.medium"
SESSION_SECONDS_MAX = 43200  # CreatePresignedNotebookInstanceUrl's default session

# The operations this layer answers or refuses itself (the rest is moto's), and the ones whose answers it
# reshapes; tests check each against botocore's service model (tests/workspaces/test_aws_service_model.py).
OWN_OPERATIONS: dict[str, tuple[str, ...]] = {
    "sagemaker": (
        "CreateNotebookInstance",
        "StartNotebookInstance",
        "StopNotebookInstance",
        "DeleteNotebookInstance",
        "CreatePresignedNotebookInstanceUrl",
    ),
    "iam": ("CreateRole", "PutRolePermissionsBoundary"),
}
RESHAPED_OUTPUTS: dict[str, tuple[str, ...]] = {"sagemaker": ("DescribeNotebookInstance", "ListNotebookInstances")}

StartResponse = Callable[..., Any]
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
Environ = dict[str, Any]


@dataclass
class Fault:
    """An armed fault: the next ``count`` calls of ``action`` fail (``None`` = until cleared)."""

    action: str
    code: str = ""
    message: str = "Injected fault."
    status: int = 400
    count: int | None = 1
    retry_after_ms: int | None = None
    failure_reason: str = ""  # set: the call succeeds but the instance ends ``Failed`` with this reason


@dataclass
class _Transition:
    from_status: str
    to_status: str | None  # None: the instance disappears
    due: float
    failure_reason: str = ""


@dataclass
class _Session:
    account_id: str
    region: str
    name: str
    expires: float


@dataclass
class StandInState:
    """Everything this layer adds to moto; one lock guards it and every notebook state change."""

    provision_delay: float
    lock: threading.RLock = field(default_factory=threading.RLock)
    faults: list[Fault] = field(default_factory=list)
    transitions: dict[tuple[str, str, str], _Transition] = field(default_factory=dict)
    sessions: dict[str, _Session] = field(default_factory=dict)

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.transitions.clear()
            self.sessions.clear()

    def take_fault(self, action: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.action == action:
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self.faults.remove(fault)
                    return fault
        return None


class AwsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _read_body(environ: Environ) -> bytes:
    """Read the request body and put it back so the next WSGI layer can read it too."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _aws_action(environ: Environ, body: bytes) -> tuple[str, bool]:
    """The AWS action a request calls and whether it uses a JSON protocol (else query/XML)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1], True
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        actions = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if actions:
            return actions[0], False
    actions = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    return (actions[0], False) if actions else ("", False)


def _caller(environ: Environ) -> tuple[str, str]:
    """(account id, region) of a SigV4-signed request, resolved the way moto does."""
    from moto.iam.models import get_account_id_from

    credential = environ.get("HTTP_AUTHORIZATION", "").split("Credential=", 1)[-1].split(",", 1)[0]
    parts = credential.split("/")
    access_key = parts[0] if parts else ""
    region = parts[2] if len(parts) >= 5 else "us-east-1"
    account_id = os.environ.get("MOTO_ACCOUNT_ID") or environ.get("HTTP_X_MOTO_ACCOUNT_ID") or ""
    return account_id or get_account_id_from(access_key), region


def _iam_backend(account_id: str, region: str) -> Any:
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    return iam_backends[account_id][get_partition(region)]


def _sagemaker_backend(account_id: str, region: str) -> Any:
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[account_id][region]


def _respond(
    start_response: StartResponse, status: int, body: bytes, content_type: str, headers: Iterable[tuple[str, str]] = ()
) -> list[bytes]:
    reason = {
        200: "OK",
        201: "Created",
        204: "No Content",
        400: "Bad Request",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
    }
    start_response(
        f"{status} {reason.get(status, 'Error')}",
        [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers],
    )
    return [body]


def _json(start_response: StartResponse, status: int, payload: Any) -> list[bytes]:
    return _respond(start_response, status, json.dumps(payload, default=str).encode(), "application/json")


def _aws_error(
    start_response: StartResponse, error: AwsError, *, json_protocol: bool, retry_after_ms: int | None = None
) -> list[bytes]:
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", error.code)]
    if retry_after_ms is not None:
        headers.append(("x-amz-retry-after", str(retry_after_ms)))
    if json_protocol:
        body = json.dumps({"__type": error.code, "message": error.message}).encode()
        return _respond(start_response, error.status, body, "application/x-amz-json-1.1", headers)
    message = _XML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", error.message)  # XML 1.0 cannot carry them
    xml = (
        "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).format(
        kind="Receiver" if error.status >= 500 else "Sender",
        code=html.escape(error.code),
        message=html.escape(message),
        request_id=request_id,
    )
    return _respond(start_response, error.status, xml.encode(), "text/xml", headers)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:3rem;color:#222}}code{{background:#eee;padding:0 .3rem}}</style>
</head><body><h1>{title}</h1><p>{text}</p></body></html>
"""


def _page(start_response: StartResponse, status: int, title: str, text: str) -> list[bytes]:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
    return _respond(start_response, status, body, "text/html; charset=utf-8", [("Cache-Control", "no-store")])


class EnclaveStandIn:
    """The WSGI application: this layer's own endpoints, faults and SageMaker notebook lifecycle, then moto."""

    def __init__(self, moto_app: Callable[[Environ, StartResponse], Iterable[bytes]], state: StandInState) -> None:
        self.moto_app = moto_app
        self.state = state

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/enclave-faults":
            return self._faults(environ, method, start_response)
        if path == "/enclave-config":
            return self._config(environ, method, start_response)
        if path.startswith("/enclave-notebook/"):
            return self._notebook_page(environ, unquote(path.removeprefix("/enclave-notebook/")), start_response)
        if path == "/moto-api/reset" and method == "POST":
            self.state.reset()
            return self.moto_app(environ, start_response)

        body = _read_body(environ)
        action, json_protocol = _aws_action(environ, body)
        fault = self.state.take_fault(action) if action else None
        if fault is not None and not fault.failure_reason:
            error = AwsError(fault.code, fault.message, fault.status)
            return _aws_error(start_response, error, json_protocol=json_protocol, retry_after_ms=fault.retry_after_ms)
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("SageMaker."):
            try:
                return self._sagemaker(environ, action, body, fault, start_response)
            except AwsError as error:
                return _aws_error(start_response, error, json_protocol=True)
        if not json_protocol and action in OWN_OPERATIONS["iam"]:
            try:
                self._check_iam(environ, action, body)
            except AwsError as error:
                return _aws_error(start_response, error, json_protocol=False)
        return self.moto_app(environ, start_response)

    # --- control endpoints -------------------------------------------------------------------------------

    def _faults(self, environ: Environ, method: str, start_response: StartResponse) -> list[bytes]:
        if method == "DELETE":
            with self.state.lock:
                self.state.faults.clear()
            return _respond(start_response, 204, b"", "application/json")
        if method == "POST":
            try:
                data = json.loads(_read_body(environ) or b"{}")
                fault = Fault(**data)
                if not fault.action or not (fault.code or fault.failure_reason):
                    raise ValueError("a fault needs an action and a code (or a failure_reason)")
            except (TypeError, ValueError) as exc:
                return _json(start_response, 400, {"error": str(exc)})
            with self.state.lock:
                self.state.faults.append(fault)
            return _json(start_response, 201, asdict(fault))
        with self.state.lock:
            return _json(start_response, 200, [asdict(f) for f in self.state.faults])

    def _config(self, environ: Environ, method: str, start_response: StartResponse) -> list[bytes]:
        if method == "POST":
            try:
                delay = float(json.loads(_read_body(environ) or b"{}")["provision_delay"])
                if delay < 0:
                    raise ValueError("provision_delay must be >= 0")
            except (KeyError, TypeError, ValueError) as exc:
                return _json(start_response, 400, {"error": f"expected {{'provision_delay': seconds}}: {exc}"})
            with self.state.lock:
                self.state.provision_delay = delay
        return _json(start_response, 200, {"provision_delay": self.state.provision_delay})

    def _notebook_page(self, environ: Environ, name: str, start_response: StartResponse) -> list[bytes]:
        token = (parse_qs(environ.get("QUERY_STRING", "")).get("authToken") or [""])[0]
        with self.state.lock:
            session = self.state.sessions.get(token)
            if session is None or session.name != name or session.expires < time.time():
                return _page(start_response, 403, "Access denied", "This notebook link is invalid or has expired.")
            self._advance(session.account_id, session.region)
            instance = _sagemaker_backend(session.account_id, session.region).notebook_instances.get(name)
            status = instance.status if instance is not None else ""
        if not status:
            return _page(start_response, 404, "Not found", f"Notebook instance {name} does not exist.")
        if status != "InService":
            return _page(start_response, 409, "Notebook not running", f"Notebook instance {name} is {status}.")
        return _page(start_response, 200, f"Jupyter (Enclave AWS stand-in) — notebook {name}", "The kernel is ready.")

    # --- IAM: permissions boundaries -----------------------------------------------------------------------

    def _check_iam(self, environ: Environ, action: str, body: bytes) -> None:
        """Refuse what IAM refuses and moto lets through: model constraints and a boundary that does not exist."""
        form = {
            key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()
        }
        shape = operation_model("iam", action).input_shape
        params: dict[str, Any] = {}
        for name, member in shape.members.items():  # top-level scalars; moto checks lists and maps
            if name in form and member.type_name not in ("list", "map", "structure"):
                raw = form[name]
                params[name] = int(raw) if member.type_name in ("integer", "long") and raw.isdigit() else raw
        missing = [name for name in shape.required_members if name not in form]
        message = validate_request("iam", action, {**params, **dict.fromkeys(missing, None)})
        if message:
            raise AwsError(VALIDATION_ERROR_CODE["query"], message)
        boundary = params.get("PermissionsBoundary")
        if boundary:
            account_id, region = _caller(environ)
            self._check_boundary(account_id, region, str(boundary))

    @staticmethod
    def _check_boundary(account_id: str, region: str, arn: str) -> None:
        """IAM's own refusal (``NoSuchEntity``, 404) of a boundary policy that does not exist or cannot be attached.

        AWS-managed policies (``arn:aws:iam::aws:policy/...``) count as existing unless moto loaded them
        (``MOTO_IAM_LOAD_MANAGED_POLICIES``), since moto knows nothing of them otherwise.
        """
        from moto import settings as moto_settings

        policy = _iam_backend(account_id, region).managed_policies.get(arn)
        if policy is None and ":aws:policy/" in arn and not moto_settings.load_iam_aws_managed_policies():
            return
        if policy is None or not getattr(policy, "is_attachable", True):
            raise AwsError("NoSuchEntity", f"Scope ARN: {arn} does not exist or is not attachable.", 404)

    # --- SageMaker notebook instances --------------------------------------------------------------------

    def _sagemaker(
        self, environ: Environ, action: str, body: bytes, fault: Fault | None, start_response: StartResponse
    ) -> Iterable[bytes]:
        account_id, region = _caller(environ)
        params: dict[str, Any] = json.loads(body or b"{}")
        if action in OWN_OPERATIONS["sagemaker"]:
            message = validate_request("sagemaker", action, params)
            if message:
                raise AwsError(VALIDATION_ERROR_CODE["json"], message)
        with self.state.lock:
            self._advance(account_id, region)
            if action == "CreateNotebookInstance":
                return self._create(environ, account_id, region, params, fault, start_response)
            if action == "StartNotebookInstance":
                self._transition(account_id, region, params, ("Stopped", "Failed"), "Pending", "InService", fault)
            elif action == "StopNotebookInstance":
                self._transition(account_id, region, params, ("InService",), "Stopping", "Stopped", None)
            elif action == "DeleteNotebookInstance":
                self._transition(account_id, region, params, ("Stopped", "Failed"), "Deleting", None, None)
            elif action == "CreatePresignedNotebookInstanceUrl":
                return _respond(
                    start_response,
                    200,
                    json.dumps({"AuthorizedUrl": self._presign(environ, account_id, region, params)}).encode(),
                    "application/x-amz-json-1.1",
                )
            else:
                return self.moto_app(environ, start_response)
            self._advance(account_id, region)
        return _respond(start_response, 200, b"{}", "application/x-amz-json-1.1")

    def _instance(self, account_id: str, region: str, name: str) -> Any:
        instance = _sagemaker_backend(account_id, region).notebook_instances.get(name)
        if instance is None:
            raise AwsError("ValidationException", "RecordNotFound")
        return instance

    def _create(
        self,
        environ: Environ,
        account_id: str,
        region: str,
        params: dict[str, Any],
        fault: Fault | None,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        captured: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.append(status)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        instance_type = str(params["InstanceType"])
        if instance_type != MOTO_KNOWN_INSTANCE_TYPE:
            body = json.dumps({**params, "InstanceType": MOTO_KNOWN_INSTANCE_TYPE}).encode()
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        result = self.moto_app(environ, capture)
        if captured and captured[0].startswith("200"):
            name = params["NotebookInstanceName"]
            instance = self._instance(account_id, region, name)
            instance.instance_type = instance_type
            extras = {"PlatformIdentifier": params.get("PlatformIdentifier") or "notebook-al2-v3"}
            plain_to_dict = instance.to_dict

            def to_dict() -> dict[str, Any]:
                data = plain_to_dict()
                data.update(extras)
                reason = getattr(instance, "enclave_failure_reason", "")
                if reason and instance.status == "Failed":
                    data["FailureReason"] = reason
                return data

            instance.to_dict = to_dict
            instance.status = "Pending"
            self._schedule(account_id, region, name, "Pending", "InService", fault)
            self._advance(account_id, region)
        return result

    def _transition(
        self,
        account_id: str,
        region: str,
        params: dict[str, Any],
        allowed_from: tuple[str, ...],
        via: str,
        to: str | None,
        fault: Fault | None,
    ) -> None:
        name = params.get("NotebookInstanceName", "")
        instance = self._instance(account_id, region, name)
        if instance.status not in allowed_from:
            raise AwsError(
                "ValidationException",
                f"Status ({instance.status}) not in ([{', '.join(allowed_from)}]). Unable to transition to ({via}) "
                f"for Notebook Instance ({instance.arn}).",
            )
        instance.status = via
        instance.last_modified_time = utcnow()
        self._schedule(account_id, region, name, via, to, fault)

    def _schedule(self, account_id: str, region: str, name: str, via: str, to: str | None, fault: Fault | None) -> None:
        reason = fault.failure_reason if fault is not None else ""
        self.state.transitions[(account_id, region, name)] = _Transition(
            from_status=via,
            to_status="Failed" if reason else to,
            due=time.monotonic() + self.state.provision_delay,
            failure_reason=reason,
        )

    def _advance(self, account_id: str, region: str) -> None:
        """Apply every transition that is due in this account and region (called under the lock)."""
        now = time.monotonic()
        backend = _sagemaker_backend(account_id, region)
        for key, transition in list(self.state.transitions.items()):
            if key[:2] != (account_id, region) or transition.due > now:
                continue
            del self.state.transitions[key]
            instance = backend.notebook_instances.get(key[2])
            if instance is None or instance.status != transition.from_status:
                continue
            if transition.to_status is None:
                del backend.notebook_instances[key[2]]
                continue
            instance.status = transition.to_status
            instance.last_modified_time = utcnow()
            instance.enclave_failure_reason = transition.failure_reason

    def _presign(self, environ: Environ, account_id: str, region: str, params: dict[str, Any]) -> str:
        name = params.get("NotebookInstanceName", "")
        self._instance(account_id, region, name)
        requested = params.get("SessionExpirationDurationInSeconds")  # within bounds: validated from the model
        seconds = SESSION_SECONDS_MAX if requested is None else int(requested)  # AWS's default is 12 hours
        now = time.time()
        for token, session in list(self.state.sessions.items()):
            if session.expires < now:
                del self.state.sessions[token]
        token = secrets.token_urlsafe(24)
        self.state.sessions[token] = _Session(account_id, region, name, now + seconds)
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        return f"{environ.get('wsgi.url_scheme', 'http')}://{host}/enclave-notebook/{quote(name)}?authToken={token}"


class _QuietRequestHandler(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def make_stand_in_server(
    host: str = "127.0.0.1", port: int = 5000, *, provision_delay: float = 3.0, quiet: bool = False
) -> tuple[BaseWSGIServer, StandInState]:
    """A bound, not yet serving, multi-threaded stand-in server and its state."""
    state = StandInState(provision_delay=provision_delay)
    app = EnclaveStandIn(ObjectLockGuard(DomainDispatcherApplication(create_backend_app)), state)
    handler = _QuietRequestHandler if quiet else MotoRequestHandler
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    return server, state


def _exit_with_parent() -> None:
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    parser.add_argument("--provision-delay", type=float, default=3.0, help="seconds a notebook stays transitional")
    parser.add_argument("--url-file", help="write the base URL here once listening")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    parser.add_argument("--exit-with-parent", action="store_true", help="stop when the parent process dies")
    parser.add_argument(
        "--seed-demo", action="store_true", help="create the demo catalog's AWS resources (devtools.aws_seed)"
    )
    args = parser.parse_args(argv)

    server, _ = make_stand_in_server(args.host, args.port, provision_delay=args.provision_delay, quiet=args.quiet)
    port = server.server_port
    os.environ.setdefault("MOTO_PORT", str(port))
    url = f"http://{args.host}:{port}"
    if args.exit_with_parent:
        _exit_with_parent()

    def announce() -> None:  # once serving: seed through the AWS API like any client, then say where we are
        if args.seed_demo:
            from devtools.aws_seed import seed_demo

            try:
                print(f"Seeded the demo's AWS resources: {', '.join(seed_demo(url))}", flush=True)
            except Exception as exc:  # say why and stop: the demo cannot work without them
                print(f"!!! could not seed the demo's AWS resources: {exc!r}", file=sys.stderr, flush=True)
                os._exit(1)
        if args.url_file:
            partial = Path(f"{args.url_file}.partial")
            partial.write_text(url)
            partial.replace(args.url_file)
        print(f"Enclave AWS stand-in (moto) listening on {url}, provision delay {args.provision_delay:g}s", flush=True)

    threading.Thread(target=announce, name="announce", daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def start_stand_in(
    port: int = 0,
    provision_delay: float = 1.0,
    *,
    host: str = "127.0.0.1",
    timeout: float = 60.0,
    seed_demo: bool = False,
) -> tuple[str, Callable[[], None]]:
    """Start the stand-in in a child process; returns its base URL and a function that stops it.

    The child writes its URL to a file once it listens (so ``port=0`` works), logs to a file in a
    fresh temporary directory, and exits by itself if this process dies.
    """
    workdir = Path(tempfile.mkdtemp(prefix="enclave-aws-stand-in-"))
    url_file = workdir / "url"
    log = (workdir / "stand-in.log").open("wb")
    command = [
        sys.executable, "-m", "devtools.moto_stand_in", "--host", host, "--port", str(port),
        "--provision-delay", str(provision_delay), "--url-file", str(url_file), "--quiet", "--exit-with-parent",
    ]  # fmt: skip
    if seed_demo:
        command.append("--seed-demo")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()

    deadline = time.monotonic() + timeout
    while not url_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop()
            output = (workdir / "stand-in.log").read_text(errors="replace")[-4000:]
            raise RuntimeError(f"the AWS stand-in did not start (log in {workdir}):\n{output}")
        time.sleep(0.05)
    return url_file.read_text().strip(), stop


if __name__ == "__main__":
    main()

"""Pages of the workspace lifecycle: my workspaces (live via htmx), the request form, one
workspace with its timeline, hardening and cost, the owner's actions, and the fleet.

Views are thin: they parse input, call a selector or a service, and render. Someone
else's workspace is answered with an audited 404, never a 403, so existence is not leaked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog import usage
from catalog.providers import Provider
from catalog.selectors import PROVIDER_LABELS, price_index, published_version, template_by_slug
from catalog.specs import SpecInvalid, parse_spec
from core.errors import DomainError
from core.permissions import role_required
from core.roles import Role
from portal.pagination import KeysetPage, page_errors, page_from_request, page_query, request_params
from portal.permissions import not_found
from workspaces import selectors, services
from workspaces.exceptions import WorkspaceNotFound
from workspaces.forms import RequestWorkspaceForm
from workspaces.models import Workspace, WorkspaceState
from workspaces.permissions import can_operate

S = WorkspaceState
VIEWERS = (Role.DATA_SCIENTIST, Role.CATALOG_ADMIN, Role.AUDITOR)


def _list_context(request: HttpRequest) -> dict[str, Any]:
    page = page_from_request(request, selectors.workspaces_of(request.user), ordering=selectors.LIST_ORDER)
    prices = price_index()
    return {
        "rows": [{"ws": ws, "cost": selectors.cost_so_far(ws, prices)} for ws in page.rows],
        "live": selectors.any_transitional(page.rows),
        "pager": _pager(request, page),
    }


def _pager(request: HttpRequest, page: KeysetPage[Any] | None) -> dict[str, Any]:
    """The previous/next links of a keyset page (``templates/_pager.html``)."""
    if page is None:
        return {}
    return {"previous": page_query(request, page.previous_cursor), "next": page_query(request, page.next_cursor)}


@role_required(Role.DATA_SCIENTIST)
@require_GET
def my_workspaces(request: HttpRequest) -> HttpResponse:
    """The scientist's workspaces; while any is changing state, the table refreshes itself."""
    return render(request, "workspaces/my_workspaces.html", _list_context(request))


@role_required(Role.DATA_SCIENTIST)
@require_GET
def my_workspaces_rows(request: HttpRequest) -> HttpResponse:
    """The htmx fragment the list polls every 3 s (it stops polling once nothing is in flight)."""
    return render(request, "workspaces/_workspace_rows.html", _list_context(request))


@role_required(Role.DATA_SCIENTIST)
@require_http_methods(["GET", "POST"])
def request_workspace(request: HttpRequest, slug: str) -> HttpResponse:
    """The request form for one template; its choices are the published version's."""
    template = template_by_slug(slug)
    version = published_version(template) if template is not None else None
    if template is None or version is None:
        messages.error(request, "That template cannot be requested now (it has no published version).")
        return redirect("catalog:catalog")
    try:
        spec = parse_spec(template.provider, version.spec)
    except SpecInvalid:
        messages.error(request, "That template's published version is invalid; the catalog admins were told.")
        return redirect("catalog:catalog")
    initial = {"cost_centre": getattr(request.user, "cost_centre", "")}
    form = RequestWorkspaceForm(request.POST or None, template=template, spec=spec, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ws = services.request_workspace(
                request.user,
                template.slug,
                data["name"],
                data["instance_type"],
                data.get("volume_size_gb"),
                data["data_classification"],
                data["cost_centre"],
            )
        except DomainError as exc:
            form.add_domain_errors(exc.field_errors, exc.message)
        else:
            # No one-shot banner here: the workspace page shows a message that follows the state
            # ("provisioning has started" used to stay on screen after the workspace was running).
            return redirect("workspaces:detail", pk=ws.pk)
    quota = usage.usage_for(request.user)
    context = {
        "template": template,
        "version": version,
        "spec": spec,
        "form": form,
        "provider_label": PROVIDER_LABELS.get(template.provider, template.provider),
        "usage": quota,
        "template_in_use": quota.of_template(template.pk) if quota else 0,
    }
    return render(request, "workspaces/request.html", context, status=400 if form.errors else 200)


def _visible(request: HttpRequest, pk: Any) -> Workspace:
    ws, visible = selectors.workspace_for(request.user, pk)
    if ws is None:
        raise not_found(request, reason="no such workspace")
    if not visible:
        raise not_found(request, reason="not the owner of this workspace", target=ws)
    return ws


def _detail_context(request: HttpRequest, ws: Workspace) -> dict[str, Any]:
    return {
        "ws": ws,
        "cost": selectors.cost_so_far(ws),
        "live": ws.state in services.TRANSITIONAL_STATES,
        "progress": selectors.build_progress(ws),
        "is_owner": can_operate(request.user, ws),
        "provider_label": PROVIDER_LABELS.get(ws.provider, ws.provider),
        "hardening": [
            (key, ", ".join(map(str, value)) if isinstance(value, list | tuple) else value)
            for key, value in sorted(ws.applied_hardening.items())
        ],
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def notebook_origins(provider: str) -> list[str]:
    """Where "Open notebook" redirects to. Browsers apply the page's CSP ``form-action`` to the
    redirect that follows a form POST, so the workspace page must allow exactly these origins."""
    if provider == Provider.AWS_SAGEMAKER:
        endpoint = _origin(settings.ENCLAVE_AWS_ENDPOINT_URL)
        origins = [endpoint] if endpoint else ["https://*.sagemaker.aws"]
    else:
        origins = [_origin(settings.ENCLAVE_AZURE_STUDIO_URL) or "https://ml.azure.com"]
    return [*origins, *getattr(settings, "ENCLAVE_NOTEBOOK_ORIGINS", [])]


@role_required(*VIEWERS)
@require_GET
def detail(request: HttpRequest, pk: Any) -> HttpResponse:
    """One workspace: status, the hardening read back from the cloud, cost so far, its
    audited timeline, and the owner's actions."""
    ws = _visible(request, pk)
    context = {**_detail_context(request, ws), "timeline": selectors.timeline(ws)}
    response = render(request, "workspaces/detail.html", context)
    if context["is_owner"]:
        response._csp_update = {"form-action": notebook_origins(ws.provider)}  # type: ignore[attr-defined]
    return response


@role_required(*VIEWERS)
@require_GET
def detail_status(request: HttpRequest, pk: Any) -> HttpResponse:
    """The htmx fragment of the workspace page that polls while the workspace is changing."""
    ws = _visible(request, pk)
    context = {**_detail_context(request, ws), "timeline": selectors.timeline(ws)}
    return render(request, "workspaces/_detail_live.html", context)


def _owner_action(request: HttpRequest, pk: Any, action: str) -> Workspace:
    ws = _visible(request, pk)
    if not can_operate(request.user, ws):
        raise not_found(request, reason=f"not the owner of this workspace: {action}", target=ws)
    return ws


def _act(request: HttpRequest, pk: Any, action: str, done: str) -> HttpResponse:
    ws = _owner_action(request, pk, action)
    service = {
        "stop": services.stop_workspace,
        "start": services.start_workspace,
        "delete": services.delete_workspace,
        "retry": services.retry_workspace,
    }[action]
    try:
        ws = service(request.user, ws)
    except WorkspaceNotFound as exc:
        raise not_found(request, reason=exc.message, target=ws) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done.format(name=ws.name))
    if ws.state == S.DELETED:
        return redirect("workspaces:my_workspaces")
    return redirect("workspaces:detail", pk=ws.pk)


@role_required(*VIEWERS)
@require_POST
def stop(request: HttpRequest, pk: Any) -> HttpResponse:
    return _act(request, pk, "stop", "Stopping “{name}”.")


@role_required(*VIEWERS)
@require_POST
def start(request: HttpRequest, pk: Any) -> HttpResponse:
    return _act(request, pk, "start", "Starting “{name}”.")


@role_required(*VIEWERS)
@require_POST
def delete(request: HttpRequest, pk: Any) -> HttpResponse:
    return _act(request, pk, "delete", "Deleting “{name}” and everything built for it.")


@role_required(*VIEWERS)
@require_POST
def retry(request: HttpRequest, pk: Any) -> HttpResponse:
    return _act(request, pk, "retry", "Retrying “{name}”.")


@role_required(*VIEWERS)
@require_POST
def open_notebook(request: HttpRequest, pk: Any) -> HttpResponse:
    """Open the owner's notebook: mint a short-lived sign-in URL and redirect to it.

    This is the one place the web calls a cloud API inside a request, on purpose: the
    URL is a bearer credential valid for minutes, so it must be minted at the moment the
    owner clicks, for that owner only, and never stored, queued or shown to anyone else.
    Minting it in a task would put it in the broker and make the owner wait for a worker.
    Anyone other than the owner gets an audited 404.
    """
    ws = _owner_action(request, pk, "open")
    try:
        url = services.open_workspace(request.user, ws)
    except WorkspaceNotFound as exc:
        raise not_found(request, reason=exc.message, target=ws) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("workspaces:detail", pk=ws.pk)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@role_required(Role.CATALOG_ADMIN, Role.AUDITOR)
@require_GET
def fleet(request: HttpRequest) -> HttpResponse:
    """Every workspace with its owner, template, state and drift flags (read-only)."""
    state = request.GET.get("state", "")
    if state not in S.values:
        state = ""
    drift_only = request.GET.get("drift") == "1"
    with page_errors(request):
        cursor, limit = request_params(request)
        view = selectors.fleet(state=state, drift_only=drift_only, cursor=cursor, limit=limit)
    context = {
        "fleet": view,
        "pager": _pager(request, view.page),
        "state": state,
        "drift_only": drift_only,
        "states": S.choices,
    }
    return render(request, "workspaces/fleet.html", context)

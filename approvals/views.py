"""Pages of data access: the dataset catalog and policies (catalog admins; auditors read),
the approver inbox and history, one request with its decisions and timeline, a requester's
requests and grants, the new-request form, and the POST-only actions.

Views are thin: they parse input, call a selector or a service, and render. Someone else's
request is an audited 404, never a 403, so its existence is not leaked. Nothing changes on GET
— a signed e-mail link only opens the decision page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals import notifications, permissions, selectors, selectors_reviews, services
from approvals.exceptions import RequestNotFound
from approvals.forms import DatasetForm, DecisionForm, NewRequestForm, PolicyForm
from approvals.models import AccessRequest, ApprovalPolicy, Grant, GrantStatus, RequestState, Verdict
from core.errors import DomainError
from core.permissions import any_role, role_required
from core.roles import Role
from portal.pagination import KeysetPage, page_errors, page_query, request_params
from portal.permissions import not_found

CATALOG_VIEWERS = (Role.CATALOG_ADMIN, Role.AUDITOR)


def _pager(request: HttpRequest, page: KeysetPage[Any]) -> dict[str, Any]:
    """The previous/next links of a keyset page (``templates/_pager.html``)."""
    return {"previous": page_query(request, page.previous_cursor), "next": page_query(request, page.next_cursor)}


# --- the dataset catalog and policies ---------------------------------------------------------------


@role_required(*CATALOG_VIEWERS)
@require_GET
def datasets(request: HttpRequest) -> HttpResponse:
    """Every dataset with its classification, location and policy; the policies below."""
    context = {
        "datasets": list(selectors.datasets()),
        "policies": list(selectors.policies()),
        "can_manage": permissions.can_manage_catalog(request.user),
    }
    return render(request, "approvals/datasets.html", context)


def _dataset_values(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in services.DATASET_FIELDS if k in data}


def _catalog_form(
    request: HttpRequest,
    form: DatasetForm | PolicyForm,
    save: Callable[[dict[str, Any]], str],
    *,
    title: str,
    submit: str,
    kind: str,
) -> HttpResponse:
    """The dataset and policy add/edit pages: a valid POST goes through ``save`` (the service call,
    returning the confirmation to show) and back to the catalog; the service's refusal is shown on
    the fields it names. A form with errors answers 400."""
    if request.method == "POST" and form.is_valid():
        try:
            message = save(form.cleaned_data)
        except DomainError as exc:
            form.add_domain_errors(exc.field_errors, exc.message)
        else:
            messages.success(request, message)
            return redirect("approvals:datasets")
    context = {"form": form, "title": title, "submit": submit, "kind": kind}
    return render(request, "approvals/catalog_form.html", context, status=400 if form.errors else 200)


@role_required(Role.CATALOG_ADMIN)
@require_http_methods(["GET", "POST"])
def dataset_create(request: HttpRequest) -> HttpResponse:
    def save(data: dict[str, Any]) -> str:
        dataset = services.create_dataset(request.user, **_dataset_values(data))
        return f"Dataset “{dataset.name}” was added to the catalog."

    form = DatasetForm(request.POST or None, initial={"policy": services.default_policy().pk, "active": True})
    return _catalog_form(request, form, save, title="New dataset", submit="Add dataset", kind="dataset")


@role_required(Role.CATALOG_ADMIN)
@require_http_methods(["GET", "POST"])
def dataset_edit(request: HttpRequest, slug: str) -> HttpResponse:
    dataset = selectors.dataset_by_slug(slug)
    if dataset is None:
        raise not_found(request, reason="no such dataset")

    def save(data: dict[str, Any]) -> str:
        saved = services.update_dataset(request.user, dataset, **_dataset_values(data))
        return f"Dataset “{saved.name}” was saved."

    form = DatasetForm(request.POST or None, initial=DatasetForm.initial_for(dataset))
    return _catalog_form(request, form, save, title=f"Edit {dataset.name}", submit="Save", kind="dataset")


@role_required(Role.CATALOG_ADMIN)
@require_http_methods(["GET", "POST"])
def policy_create(request: HttpRequest) -> HttpResponse:
    def save(data: dict[str, Any]) -> str:
        policy = services.create_policy(request.user, **data)
        return f"Policy “{policy.name}” was created."

    form = PolicyForm(request.POST or None)
    return _catalog_form(request, form, save, title="New approval policy", submit="Create policy", kind="policy")


@role_required(Role.CATALOG_ADMIN)
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    policy = ApprovalPolicy.objects.filter(pk=pk).first()
    if policy is None:
        raise not_found(request, reason="no such approval policy")

    def save(data: dict[str, Any]) -> str:
        saved = services.update_policy(request.user, policy, **data)
        return f"Policy “{saved.name}” was saved; open requests keep their rules."

    form = PolicyForm(request.POST or None, initial=PolicyForm.initial_for(policy))
    return _catalog_form(request, form, save, title=f"Edit policy {policy.name}", submit="Save", kind="policy")


# --- approvers -------------------------------------------------------------------------------------------------


@role_required(Role.APPROVER)
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """Pending requests the approver may decide, with what they need to decide at a glance; or,
    with ``?tab=history``, the decisions they made."""
    tab = "history" if request.GET.get("tab") == "history" else "pending"
    context: dict[str, Any] = {"tab": tab}
    if tab == "history":
        context["history"] = selectors.history_for(request.user)
    else:
        with page_errors(request):
            cursor, limit = request_params(request)
            inbox = selectors.inbox_page(request.user, cursor=cursor, limit=limit)
        context["rows"] = inbox.rows
        context["pager"] = _pager(request, inbox.page)
        context["waiting"] = selectors.inbox_count(request.user)  # all of them, up to "200+"
    return render(request, "approvals/inbox.html", context)


def _visible(request: HttpRequest, pk: Any) -> AccessRequest:
    req, visible = selectors.request_for(request.user, pk)
    if req is None:
        raise not_found(request, reason="no such access request")
    if not visible:
        raise not_found(request, reason="may not see this access request", target=req)
    return req


def _grant_of(req: AccessRequest) -> Grant | None:
    try:
        return req.grant
    except Grant.DoesNotExist:
        return None


@any_role
@require_GET
def request_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    """One request: who, what, why, for how long, the decisions, the grant and the timeline; the
    decision form for an approver who may decide it now."""
    req = _visible(request, pk)
    fallback = selectors.fallback_group_id()
    stage = 1 if req.stage_one < req.approvals_required else 2  # type: ignore[attr-defined]
    grant = _grant_of(req)
    context = {
        "req": req,
        "grant": grant,
        "decisions": req.decision_list,  # type: ignore[attr-defined]
        "still_needed": selectors.still_needed(req),
        "approvals_given": len([d for d in req.decision_list if d.verdict == Verdict.APPROVE]),  # type: ignore[attr-defined]
        "stage": stage,
        "can_decide": req.state == RequestState.PENDING
        and permissions.may_decide_at(request.user, req, stage, fallback)
        and not any(d.approver_id == request.user.pk for d in req.decision_list),  # type: ignore[attr-defined]
        "is_requester": permissions.is_requester(request.user, req),
        "can_withdraw": permissions.can_withdraw(request.user, req),
        "can_revoke": req.state in (RequestState.APPROVED, RequestState.ACTIVE)
        and req.kind == "dataset"
        and permissions.can_revoke(request.user, req, fallback),
        "timeline": selectors.timeline(req, grant),
        "grant_ref_json": json.dumps(grant.grant_ref, indent=2, sort_keys=True) if grant and grant.grant_ref else "",
        "form": DecisionForm(),
    }
    return render(request, "approvals/request_detail.html", context)


@any_role
@require_GET
def review_link(request: HttpRequest, token: str) -> HttpResponse:
    """The signed link in an approver's e-mail: checks the signature, then opens the request page
    (which checks login and approver rights itself). It never decides anything."""
    request_id = notifications.request_id_from_token(token)
    if request_id is None:
        raise not_found(request, reason="invalid or expired review link")
    return redirect("approvals:request_detail", pk=request_id)


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@role_required(Role.APPROVER)
@require_POST
def decide(request: HttpRequest, pk: Any) -> HttpResponse:
    """Approve or deny from the inbox or the request page (POST only)."""
    form = DecisionForm(request.POST)
    back = _back(request, reverse("approvals:request_detail", kwargs={"pk": pk}))
    if not form.is_valid():
        messages.error(request, "Choose approve or deny.")
        return redirect(back)
    try:
        req = services.decide(request.user, str(pk), form.cleaned_data["verdict"], form.cleaned_data["comment"])
    except RequestNotFound:
        raise Http404("Not found") from None  # the service audited the refusal
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    if req.state == RequestState.APPROVED:
        messages.success(request, f"Approved: {req.requester} may use {req.subject}.")
    elif req.state == RequestState.DENIED:
        messages.success(request, f"Denied: {req.requester}'s request for {req.subject}.")
    else:
        messages.success(request, "Your approval was recorded; the request needs more approvals.")
    return redirect(back)


@role_required(Role.APPROVER, Role.CATALOG_ADMIN)
@require_POST
def revoke(request: HttpRequest, pk: Any) -> HttpResponse:
    """An approver of the request or a catalog admin ends a grant early."""
    req = _visible(request, pk)
    try:
        services.revoke_grant(request.user, req, request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The grant was revoked; it is being removed from the cloud.")
    return redirect("approvals:request_detail", pk=req.pk)


# --- requesters ---------------------------------------------------------------------------------------------------


@role_required(Role.DATA_SCIENTIST)
@require_GET
def my_requests(request: HttpRequest) -> HttpResponse:
    """The scientist's requests and grants, with the time each grant has left."""
    with page_errors(request):
        cursor, limit = request_params(request)
        page = selectors.requests_page(request.user, cursor=cursor, limit=limit)
    context = {
        "rows": page.rows,
        "pager": _pager(request, page),
        "active": selectors.active_requests_of(request.user),
        "GrantStatus": GrantStatus,
        "under_review": list(selectors_reviews.under_review_for(request.user).values()),
    }
    return render(request, "approvals/my_requests.html", context)


@role_required(Role.DATA_SCIENTIST)
@require_http_methods(["GET", "POST"])
def new_request(request: HttpRequest) -> HttpResponse:
    initial = {"dataset": request.GET.get("dataset", "")}
    form = NewRequestForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            req = services.request_access(
                request.user, data["dataset"], data["workspace"], data["justification"], data["duration_hours"]
            )
        except DomainError as exc:
            form.add_domain_errors(exc.field_errors, exc.message)
        else:
            messages.success(request, f"Your request for {req.subject} was sent to the approvers.")
            return redirect("approvals:my_requests")
    context = {"form": form, "has_workspaces": selectors.grantable_workspaces(request.user).exists()}
    return render(request, "approvals/new_request.html", context, status=400 if form.errors else 200)


@role_required(Role.DATA_SCIENTIST)
@require_POST
def withdraw(request: HttpRequest, pk: Any) -> HttpResponse:
    """Withdraw a pending request, or give back a grant early (POST only, the requester only)."""
    try:
        req = services.withdraw_request(request.user, str(pk))
    except RequestNotFound:
        raise Http404("Not found") from None  # the service audited the refusal
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("approvals:my_requests")
    if req.state == RequestState.WITHDRAWN:
        messages.success(request, f"Your request for {req.subject} was withdrawn.")
    else:
        messages.success(request, f"Your access to {req.subject} was given back; it is being removed.")
    return redirect("approvals:my_requests")

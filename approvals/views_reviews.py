"""Pages of access reviews and the access report (mounted under /access/).

Catalog admins define campaigns; catalog admins and auditors read campaign reports; approvers answer
their review inbox; auditors, catalog admins and a dataset's steward produce the access report.
Thin: parse input, check role and ownership, call a selector or service, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals import permissions, selectors_report, selectors_reviews
from approvals.exceptions import ReviewItemNotFound
from approvals.forms_reviews import CampaignForm, ReviewDecisionForm
from approvals.models import Dataset, ReviewRound
from approvals.services import reviews
from audit.actions import Action
from audit.services import record
from core.errors import DomainError
from core.permissions import any_role, role_required
from core.roles import Role, has_role
from portal.permissions import not_found

REVIEW_READERS = (Role.CATALOG_ADMIN, Role.AUDITOR)


# --- campaigns -----------------------------------------------------------------------------------------


@role_required(*REVIEW_READERS)
@require_http_methods(["GET", "POST"])
def campaigns(request: HttpRequest) -> HttpResponse:
    """Every campaign with its rounds; catalog admins define new ones here (POST)."""
    can_manage = permissions.can_manage_reviews(request.user)
    form = CampaignForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        if form is None:
            raise not_found(request, reason="only catalog admins define access reviews")
        if form.is_valid():
            data = form.cleaned_data
            try:
                campaign = reviews.create_campaign(
                    actor=request.user, name=data["name"], scope=data["scope"], recurrence=data["recurrence"],
                    duration_days=data["duration_days"], on_no_answer=data["on_no_answer"],
                    datasets=data["datasets"], fallback_group=data["fallback_group"],
                    first_run_at=data["first_run_at"],
                )  # fmt: skip
            except DomainError as exc:
                form.add_domain_errors(exc.field_errors, exc.message)
            else:
                messages.success(request, f"Access review “{campaign.name}” created.")
                return redirect("approvals:review_campaign", pk=campaign.pk)
    context = {"campaigns": list(selectors_reviews.campaigns()), "form": form}
    return render(request, "approvals/reviews.html", context, status=400 if form and form.errors else 200)


@role_required(*REVIEW_READERS)
@require_GET
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors_reviews.campaigns().filter(pk=pk).first()
    if campaign is None:
        raise Http404("No such access review.")
    rounds = list(selectors_reviews.rounds_of(campaign))
    return render(request, "approvals/review_campaign.html", {"campaign": campaign, "rounds": rounds})


def _round(pk: int) -> ReviewRound:
    rnd = ReviewRound.objects.select_related("campaign").filter(pk=pk).first()
    if rnd is None:
        raise Http404("No such review round.")
    return rnd


@role_required(*REVIEW_READERS)
@require_GET
def round_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Who reviewed what, when, with what outcome, what was removed and when the cloud confirmed it."""
    rnd = _round(pk)
    items = list(selectors_reviews.round_items(rnd))
    return render(request, "approvals/review_round.html", {"round": rnd, "items": items})


@role_required(*REVIEW_READERS)
@require_GET
def round_export(request: HttpRequest, pk: int) -> HttpResponse:
    rnd = _round(pk)
    body = selectors_reviews.round_csv(rnd)
    record(action=Action.ACCESS_REPORT_EXPORTED, actor=request.user, target=rnd,
           details={"report": "access_review_round", "campaign": rnd.campaign.name, "format": "csv"})  # fmt: skip
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-review-{rnd.pk}.csv"'
    return response


# --- the reviewer's inbox --------------------------------------------------------------------------------


@role_required(Role.APPROVER)
@require_GET
def review_inbox(request: HttpRequest) -> HttpResponse:
    """Grants waiting for the reviewer's answer; their own access never appears here."""
    items = selectors_reviews.review_inbox_for(request.user)
    return render(request, "approvals/review_inbox.html", {"items": items})


@role_required(Role.APPROVER)
@require_POST
def review_decide(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReviewDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Certify or revoke, with a reason of up to 2000 characters.")
        return redirect("approvals:review_inbox")
    try:
        item = reviews.decide_item(
            actor=request.user, item_id=pk, verdict=form.cleaned_data["verdict"], reason=form.cleaned_data["reason"]
        )
    except ReviewItemNotFound:
        raise Http404("Not found") from None  # the service audited the refusal
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("approvals:review_inbox")
    verb = "certified" if item.outcome == "certified" else "revoked" if item.outcome == "revoked" else "closed"
    messages.success(request, f"{item.holder}'s access to {item.dataset.name}: {verb}.")
    return redirect("approvals:review_inbox")


# --- the access report -------------------------------------------------------------------------------------


def reportable_datasets(user: Any) -> Any:
    """Every dataset for auditors and catalog admins; a steward's own datasets for a steward."""
    if has_role(user, Role.AUDITOR, Role.CATALOG_ADMIN):
        return Dataset.objects.order_by("name")
    return Dataset.objects.filter(steward=user).order_by("name")


@any_role
@require_GET
def access_report(request: HttpRequest) -> HttpResponse:
    """For a dataset (or a user) and a day or range: every grant through which it could be read."""
    datasets = reportable_datasets(request.user)
    full = has_role(request.user, Role.AUDITOR, Role.CATALOG_ADMIN)
    if not full and not datasets.exists():
        raise not_found(request, reason="the access report is for auditors, catalog admins and dataset stewards")
    params = request.GET
    context: dict[str, Any] = {"datasets": datasets, "allow_user": full, "params": params, "report": None}
    slug, username = params.get("dataset", "").strip(), params.get("user", "").strip()
    if not (slug or username):
        return render(request, "approvals/access_report.html", context)
    try:
        window = selectors_report.parse_window(params.get("on"), params.get("from"), params.get("to"))
    except ValueError as exc:
        context["error"] = str(exc)
        return render(request, "approvals/access_report.html", context, status=400)
    dataset = Dataset.objects.select_related("policy").filter(slug=slug).first() if slug else None
    if slug and (dataset is None or not permissions.can_read_access_report(request.user, dataset)):
        raise not_found(request, reason="may not report on this dataset", target=("approvals.dataset", slug, slug))
    user = None
    if username:
        if not full:
            raise not_found(request, reason="only auditors and catalog admins report on a user")
        user = selectors_report.find_user(username)
        if user is None:
            context["error"] = f"No user {username!r}."
            return render(request, "approvals/access_report.html", context, status=400)
    report = selectors_report.access_report(window, dataset=dataset, user=user)
    if params.get("export") == "csv":
        return _report_csv(request, report)
    context["report"] = report
    return render(request, "approvals/access_report.html", context)


def _report_csv(request: HttpRequest, report: selectors_report.AccessReport) -> HttpResponse:
    record(
        action=Action.ACCESS_REPORT_EXPORTED, actor=request.user,
        target=report.dataset if report.dataset is not None else None,
        details={"report": "access", "dataset": report.dataset.slug if report.dataset else None,
                 "user": report.user.get_username() if report.user else None, "window": report.window.label(),
                 "rows": len(report.rows), "format": "csv"},
    )  # fmt: skip
    name = report.dataset.slug if report.dataset else report.user.get_username()
    response = HttpResponse(selectors_report.report_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-report-{name}-{report.window.first}.csv"'
    return response

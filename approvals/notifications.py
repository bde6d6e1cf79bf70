"""E-mail about access requests: who is told what, rendered from templates/email/approvals/.

Approvers get a signed link to the decision page (``approvals:review_link``): the signature
stops a link being guessed or altered, but the page still needs a signed-in approver with the
right group, and deciding is a POST from the page — a link never approves anything.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse

from approvals import permissions
from approvals.models import AccessRequest, Grant, Verdict
from core.roles import Role
from portal.notifications import notify

log = logging.getLogger(__name__)
LINK_SALT = "approvals.review-link"
KINDS = {
    "new_request", "decision", "reminder", "escalation", "timed_out", "granted", "expiry_warning", "expired", "revoked",
}  # fmt: skip


def review_token(req: AccessRequest | str) -> str:
    return signing.dumps({"r": str(req.pk if isinstance(req, AccessRequest) else req)}, salt=LINK_SALT)


def request_id_from_token(token: str) -> str | None:
    """The request a review link points at, or ``None`` if the link was altered or is too old."""
    max_age = int(getattr(settings, "ENCLAVE_APPROVAL_LINK_MAX_AGE_DAYS", 14)) * 86400
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    value = data.get("r") if isinstance(data, dict) else None
    return str(value) if value else None


def _absolute(path: str) -> str:
    return f"{str(settings.ENCLAVE_BASE_URL).rstrip('/')}{path}"


def _approvers_in(group_ids: set[int], req: AccessRequest, *, with_email: bool = True) -> QuerySet[Any]:
    users = get_user_model().objects.filter(is_active=True, groups__id__in=group_ids)
    users = users.filter(pk__in=get_user_model().objects.filter(groups__name=Role.APPROVER).values("pk")).exclude(
        pk=req.requester_id
    )
    return (users.exclude(email="") if with_email else users).distinct()


def recipient_users(kind: str, req: AccessRequest, extra: dict[str, Any]) -> list[Any]:
    """Who is told: the requester about their request, the approvers who may still decide about
    one waiting for them."""
    if kind in {"decision", "timed_out", "granted", "expiry_warning", "expired", "revoked"}:
        return [req.requester]
    if kind == "escalation":
        name = permissions.fallback_group_name()
        groups = set(Group.objects.filter(name=name).values_list("id", flat=True))
    else:
        stage = int(extra.get("stage") or 1) if kind == "new_request" else (2 if _stage_one_done(req) else 1)
        groups = permissions.decider_groups(req, stage=stage)
    decided = req.decisions.values("approver_id")
    return list(_approvers_in(groups, req, with_email=False).exclude(pk__in=decided))


def recipients(kind: str, req: AccessRequest, extra: dict[str, Any]) -> list[str]:
    return [u.email for u in recipient_users(kind, req, extra) if u.email]


def _stage_one_done(req: AccessRequest) -> bool:
    return req.decisions.filter(stage=1, verdict=Verdict.APPROVE).count() >= req.approvals_required


def send(kind: str, request_id: str, extra: dict[str, Any] | None = None) -> int:
    """Render and send one notification; one message per recipient (no one sees the others)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification {kind!r}")
    extra = extra or {}
    req = (
        AccessRequest.objects.select_related("requester", "dataset", "workspace", "approver_group")
        .filter(pk=request_id)
        .first()
    )
    if req is None:
        return 0
    people = recipient_users(kind, req, extra)
    to = [u.email for u in people if u.email]
    if not people:
        return 0
    last = req.decisions.select_related("approver").order_by("-decided_at").first()
    context = {
        "req": req,
        "kind": kind,
        "extra": extra,
        "last_decision": last,
        "grant": Grant.objects.filter(request=req).first(),
        "review_url": _absolute(reverse("approvals:review_link", kwargs={"token": review_token(req)})),
        "my_requests_url": _absolute(reverse("approvals:my_requests")),
        "detail_url": _absolute(reverse("approvals:request_detail", kwargs={"pk": req.pk})),
    }
    subject = " ".join(render_to_string(f"email/approvals/{kind}_subject.txt", context).split())
    # In the app too (the header shows the unread count), linking to the request itself.
    link = reverse("approvals:request_detail", kwargs={"pk": req.pk})
    for person in people:
        notify(user=person, text=subject, link=link)
    if not to:
        return 0
    body = render_to_string(f"email/approvals/{kind}.txt", context)
    for address in to:
        EmailMultiAlternatives(subject=subject, body=body, to=[address]).send()
    log.info("approvals: sent %s for %s to %d recipient(s)", kind, request_id, len(to))
    return len(to)

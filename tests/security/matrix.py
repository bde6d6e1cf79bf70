"""The authorization matrix: for every project URL, the expected status per role.

Statuses: 200 page, 302 redirect (anonymous → login), 403 wrong role (audited), 404
someone else's object (audited), 405 wrong method. Objects come from ``build_world``,
owned by users *other* than the ones making requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.urls import reverse

from tests.factories import UserFactory

THIRD_PARTY_PREFIXES = ("accounts/", "admin/")


@dataclass(frozen=True)
class Expect:
    anonymous: int
    data_scientist: int
    approver: int
    catalog_admin: int
    auditor: int
    method: str = "GET"
    kwargs: Callable[[Any], dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    @property
    def status(self) -> dict[str, int]:
        return {
            "anonymous": self.anonymous,
            "data_scientist": self.data_scientist,
            "approver": self.approver,
            "catalog_admin": self.catalog_admin,
            "auditor": self.auditor,
        }

    def url(self, world: Any) -> str:
        return reverse(self.name, kwargs=self.kwargs(world) if self.kwargs else None)


def everyone(status: int, *, anonymous: int = 302, **kw: Any) -> Expect:
    return Expect(anonymous, status, status, status, status, **kw)


def only(*, anonymous: int = 302, ok: int = 200, denied: int = 403, roles: tuple[str, ...], **kw: Any) -> Expect:
    def status(role: str) -> int:
        return ok if role in roles else denied

    return Expect(
        anonymous, status("data_scientist"), status("approver"), status("catalog_admin"), status("auditor"), **kw
    )


def build_world() -> SimpleNamespace:
    """One user per role (the requesters) and objects owned by *someone else*."""
    from datetime import timedelta

    from django.utils import timezone

    from approvals.models import AccessRequest, Grant
    from audit.actions import Action
    from audit.services import record
    from portal.tokens import issue_token
    from tests.factories import DatasetFactory, TemplateFactory, TemplateVersionFactory, WorkspaceFactory

    users = {
        "data_scientist": UserFactory(username="m.scientist", roles=["data_scientist"]),
        "approver": UserFactory(username="m.approver", roles=["approver"]),
        "catalog_admin": UserFactory(username="m.admin", roles=["catalog_admin"]),
        "auditor": UserFactory(username="m.auditor", roles=["auditor"]),
    }
    owner: Any = UserFactory(username="m.owner", roles=["data_scientist"])
    template: Any = TemplateFactory(slug="m-template", created_by=users["catalog_admin"])
    version: Any = TemplateVersionFactory(template=template, number=1, status="published")
    workspace: Any = WorkspaceFactory(owner=owner, template_version=version, state="running")
    token, _ = issue_token(owner, name="owner's token", days=7)
    dataset: Any = DatasetFactory(slug="m-dataset")

    def pending_request(why: str) -> AccessRequest:
        return AccessRequest.objects.create(
            requester=owner, dataset=dataset, workspace=workspace, policy=dataset.policy, justification=why,
            duration_hours=24, approver_group=dataset.policy.approver_group, approvals_required=1,
        )  # fmt: skip

    # One pending request per state-changing endpoint, so entries never depend on each other's order.
    access_request = pending_request("Model refresh")
    to_deny = pending_request("Second look")
    to_revoke = pending_request("Third look")
    active_request = AccessRequest.objects.create(
        requester=owner, dataset=dataset, workspace=workspace, policy=dataset.policy, justification="Earlier study",
        duration_hours=24, approver_group=dataset.policy.approver_group, approvals_required=1, state="active",
    )  # fmt: skip
    grant = Grant.objects.create(
        request=active_request, dataset=dataset, workspace=workspace, status="applied",
        expires_at=timezone.now() + timedelta(hours=24),
    )  # fmt: skip
    event = record(action=Action.AUTH_LOGIN, actor=owner, target=owner)
    from approvals.models import ReviewCampaign, ReviewItem, ReviewRound
    from portal.notifications import notify

    notification = notify(user=owner, text="The owner's own notification", link="/")
    from approvals.notifications import review_token

    # An access review of the owner's grant, reviewed by a steward who is none of the requesting users.
    steward: Any = UserFactory(username="m.steward", roles=["approver"])
    admin: Any = users["catalog_admin"]
    campaign = ReviewCampaign.objects.create(name="m-review", created_by=admin)
    review_round = ReviewRound.objects.create(
        campaign=campaign, started_at=timezone.now(), deadline=timezone.now() + timedelta(days=14)
    )
    review_item = ReviewItem.objects.create(
        round=review_round, grant=grant, dataset=dataset, holder=owner, reviewer=steward, on_no_answer="revoke"
    )

    return SimpleNamespace(
        users=users, owner=owner, template=template, version=version, workspace=workspace, token=token,
        dataset=dataset, request=access_request, to_deny=to_deny, to_revoke=to_revoke, grant=grant, event=event,
        review_token=review_token(access_request), campaign=campaign, review_round=review_round,
        review_item=review_item, notification=notification,
    )  # fmt: skip


def _ws(w: Any) -> dict[str, Any]:
    return {"pk": w.workspace.pk}


def _tpl(w: Any) -> dict[str, Any]:
    return {"slug": w.template.slug}


def _ver(w: Any) -> dict[str, Any]:
    return {"slug": w.template.slug, "number": w.version.number}


def _req(w: Any) -> dict[str, Any]:
    return {"pk": w.request.pk}


ADMIN_READERS = ("catalog_admin", "auditor")
_REPORT = {"dataset": "m-dataset", "on": "2026-03-03"}
_VERDICT = {"verdict": "certify", "reason": "Still needed."}
SCIENTISTS = ("data_scientist",)

# Anonymous API callers get 401 (token or session authentication challenge).
_ENTRIES: dict[str, Expect] = {
    # portal
    "dashboard": everyone(200),
    "profile": everyone(200),
    "profile_token_create": everyone(400, method="POST"),
    "profile_token_revoke": everyone(404, method="POST", kwargs=lambda w: {"token_id": w.token.pk}),
    "api-schema": everyone(200, anonymous=401),
    "notifications": everyone(200),
    "notification_read": everyone(404, method="POST", kwargs=lambda w: {"pk": w.notification.pk}),
    "notifications_read_all": everyone(302, method="POST"),
    # catalog pages
    "catalog:catalog": everyone(200),
    "catalog:admin_templates": only(roles=ADMIN_READERS),
    "catalog:admin_template": only(roles=ADMIN_READERS, kwargs=_tpl),
    "catalog:admin_version": only(roles=ADMIN_READERS, kwargs=_ver),
    "catalog:admin_version_diff": only(roles=ADMIN_READERS, kwargs=_tpl),
    "catalog:admin_baseline": only(roles=ADMIN_READERS),
    "catalog:admin_prices": only(roles=ADMIN_READERS),
    "catalog:admin_quotas": only(roles=ADMIN_READERS),
    "catalog:admin_template_create": only(roles=("catalog_admin",)),
    "catalog:admin_template_edit": only(roles=("catalog_admin",), kwargs=_tpl),
    "catalog:admin_version_publish": only(roles=("catalog_admin",), ok=302, method="POST", kwargs=_ver),
    "catalog:admin_version_retire": only(roles=("catalog_admin",), ok=302, method="POST", kwargs=_ver),
    # workspaces: someone else's workspace is a 404 for a scientist, read-only for admins/auditors
    "workspaces:my_workspaces": only(roles=SCIENTISTS),
    "workspaces:my_workspaces_rows": only(roles=SCIENTISTS),
    "workspaces:request": only(roles=SCIENTISTS, kwargs=_tpl),
    "workspaces:detail": Expect(302, 404, 403, 200, 200, kwargs=_ws),
    "workspaces:detail_live": Expect(302, 404, 403, 200, 200, kwargs=_ws),
    "workspaces:open": Expect(302, 404, 403, 404, 404, method="POST", kwargs=_ws),
    "workspaces:stop": Expect(302, 404, 403, 404, 404, method="POST", kwargs=_ws),
    "workspaces:start": Expect(302, 404, 403, 404, 404, method="POST", kwargs=_ws),
    "workspaces:delete": Expect(302, 404, 403, 404, 404, method="POST", kwargs=_ws),
    "workspaces:retry": Expect(302, 404, 403, 404, 404, method="POST", kwargs=_ws),
    "workspaces:fleet": only(roles=ADMIN_READERS),
    # approvals
    "approvals:my_requests": only(roles=SCIENTISTS),
    "approvals:new_request": only(roles=SCIENTISTS),
    "approvals:request_detail": Expect(302, 404, 200, 200, 200, kwargs=_req),
    "approvals:withdraw": Expect(302, 404, 403, 403, 403, method="POST", kwargs=_req),
    "approvals:inbox": only(roles=("approver",)),
    "approvals:decide": only(roles=("approver",), ok=302, method="POST", kwargs=lambda w: {"pk": w.to_deny.pk}),
    "approvals:revoke": only(
        roles=("approver", "catalog_admin"), ok=302, method="POST", kwargs=lambda w: {"pk": w.to_revoke.pk}
    ),
    "approvals:review_link": everyone(302, kwargs=lambda w: {"token": w.review_token}),
    "approvals:datasets": only(roles=ADMIN_READERS),
    "approvals:dataset_create": only(roles=("catalog_admin",)),
    "approvals:dataset_edit": only(roles=("catalog_admin",), kwargs=lambda w: {"slug": w.dataset.slug}),
    "approvals:policy_create": only(roles=("catalog_admin",)),
    "approvals:policy_edit": only(roles=("catalog_admin",), kwargs=lambda w: {"pk": w.dataset.policy.pk}),
    # access reviews and the access report (a steward who is none of these users reviews the item)
    "approvals:access_report": Expect(302, 404, 404, 200, 200, extra={"data": _REPORT}),
    "approvals:reviews": only(roles=ADMIN_READERS),
    "approvals:review_campaign": only(roles=ADMIN_READERS, kwargs=lambda w: {"pk": w.campaign.pk}),
    "approvals:review_round": only(roles=ADMIN_READERS, kwargs=lambda w: {"pk": w.review_round.pk}),
    "approvals:review_round_export": only(roles=ADMIN_READERS, kwargs=lambda w: {"pk": w.review_round.pk}),
    "approvals:review_inbox": only(roles=("approver",)),
    "approvals:review_decide": only(
        roles=("approver",), ok=404, method="POST", kwargs=lambda w: {"pk": w.review_item.pk}, extra={"data": _VERDICT}
    ),
    # audit
    "audit:events": only(roles=ADMIN_READERS),
    "audit:event": only(roles=ADMIN_READERS, kwargs=lambda w: {"seq": w.event.seq}),
    "audit:verify": only(roles=ADMIN_READERS, method="POST", ok=302),
    "audit:export": only(roles=ADMIN_READERS, method="POST", extra={"data": {"format": "jsonl"}}),
    "audit:evidence": only(roles=("auditor",), method="POST", ok=302),  # invalid form: back to the page
    # API
    "template-list": everyone(200, anonymous=401),
    "template-detail": everyone(200, anonymous=401, kwargs=_tpl),
    "template-versions": everyone(200, anonymous=401, kwargs=_tpl),
    "template-version": Expect(401, 404, 404, 200, 200, kwargs=_ver),
    "template-publish": Expect(401, 404, 404, 409, 403, method="POST", kwargs=_ver),
    "template-retire": Expect(401, 404, 404, 200, 403, method="POST", kwargs=_ver),
    "catalog-baseline": only(anonymous=401, roles=ADMIN_READERS),
    "catalog-prices": only(anonymous=401, roles=ADMIN_READERS),
    "catalog-quotas": only(anonymous=401, roles=ADMIN_READERS),
    "workspace-list": only(anonymous=401, roles=SCIENTISTS),
    "workspace-detail": Expect(401, 404, 403, 403, 403, kwargs=_ws),
    "workspace-open": Expect(401, 404, 403, 403, 403, method="POST", kwargs=_ws),
    "workspace-stop": Expect(401, 404, 403, 403, 403, method="POST", kwargs=_ws),
    "workspace-start": Expect(401, 404, 403, 403, 403, method="POST", kwargs=_ws),
    "workspace-delete": Expect(401, 404, 403, 403, 403, method="POST", kwargs=_ws),
    "workspace-retry": Expect(401, 404, 403, 403, 403, method="POST", kwargs=_ws),
    "dataset-list": everyone(200, anonymous=401),
    "dataset-detail": everyone(200, anonymous=401, kwargs=lambda w: {"slug": w.dataset.slug}),
    "access-request-list": everyone(200, anonymous=401),
    "access-request-detail": Expect(401, 404, 200, 200, 200, kwargs=_req),
    "access-request-approve": Expect(401, 403, 200, 403, 403, method="POST", kwargs=_req),
    "access-request-deny": Expect(401, 403, 400, 403, 403, method="POST", kwargs=lambda w: {"pk": w.to_deny.pk}),
    "access-request-withdraw": Expect(401, 404, 404, 404, 404, method="POST", kwargs=_req),
    "access-request-revoke": Expect(401, 403, 409, 409, 403, method="POST", kwargs=lambda w: {"pk": w.to_revoke.pk}),
    "grant-list": everyone(200, anonymous=401),
    "access-report": Expect(401, 404, 404, 200, 200, extra={"data": _REPORT}),
    "access-review-list": only(anonymous=401, roles=ADMIN_READERS),
    "access-review-detail": only(anonymous=401, roles=ADMIN_READERS, kwargs=lambda w: {"pk": w.campaign.pk}),
    "access-review-round-detail": only(anonymous=401, roles=ADMIN_READERS, kwargs=lambda w: {"pk": w.review_round.pk}),
    "access-review-item-list": everyone(200, anonymous=401),
    "access-review-item-decide": only(
        anonymous=401,
        roles=("approver",),
        ok=404,
        method="POST",
        kwargs=lambda w: {"pk": w.review_item.pk},
        extra={"data": _VERDICT},
    ),
    "grant-detail": Expect(401, 404, 200, 200, 200, kwargs=lambda w: {"pk": w.grant.pk}),
    # SCIM (IdP provisioning): a connection's bearer token only; a browser session of any role is 401.
    "scim:service_provider_config": everyone(401, anonymous=401),
    "scim:resource_types": everyone(401, anonymous=401),
    "scim:resource_type": everyone(401, anonymous=401, kwargs=lambda w: {"name": "User"}),
    "scim:schemas": everyone(401, anonymous=401),
    "scim:schema": everyone(
        401, anonymous=401, kwargs=lambda w: {"schema_id": "urn:ietf:params:scim:schemas:core:2.0:User"}
    ),
    "scim:search": everyone(401, anonymous=401, method="POST"),
    "scim:users_search": everyone(401, anonymous=401, method="POST"),
    "scim:groups_search": everyone(401, anonymous=401, method="POST"),
    "scim:users": everyone(401, anonymous=401),
    "scim:user": everyone(401, anonymous=401, kwargs=lambda w: {"pk": "00000000-0000-4000-8000-000000000000"}),
    "scim:groups": everyone(401, anonymous=401),
    "scim:group": everyone(401, anonymous=401, kwargs=lambda w: {"pk": "00000000-0000-4000-8000-000000000000"}),
    "scim:not_found": everyone(401, anonymous=401, kwargs=lambda w: {"rest": "Bulk"}),
    # The audit API is for auditors only; catalog admins read the trail in the pages.
    "api-audit-events": only(anonymous=401, roles=("auditor",)),
    "api-audit-event": only(anonymous=401, roles=("auditor",), kwargs=lambda w: {"seq": w.event.seq}),
}

EXPECTATIONS: dict[str, Expect] = {name: Expect(**{**e.__dict__, "name": name}) for name, e in _ENTRIES.items()}

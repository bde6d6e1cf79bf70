"""Production-data access: the dataset catalog, approval policies, access requests with
their decisions, and the grants applied in the cloud.

Invariants live in the database where they can: one decision per approver per request,
a comment on every denial, one grant per request, a dataset on every dataset request.
The request lifecycle is declared once, on the model, with django-fsm-2; services move
it under a row lock and audit every move.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django_fsm import FSMField, transition

from catalog.models import Classification
from catalog.providers import Provider
from core import limits
from workspaces.models import Workspace

S3_LOCATION_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(?:[A-Za-z0-9!_.*'()/-]+/)?$")
AZURE_SCOPE_RE = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[\w.()-]{1,90}/providers/Microsoft\.Storage/"
    r"storageAccounts/[a-z0-9]{3,24}(?:/blobServices/default/containers/[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])?)?$"
)


def validate_location(provider: str, location: str) -> None:
    """An S3 prefix ``s3://bucket/prefix/`` on AWS; a storage account (or container) ARM id on Azure."""
    if provider == Provider.AWS_SAGEMAKER:
        if not S3_LOCATION_RE.match(location or ""):
            raise ValidationError(
                "An AWS dataset lives at an S3 prefix: s3://bucket/prefix/ (lower-case bucket, ending with /).",
                code="location",
            )
    elif provider == Provider.AZURE_ML:
        if not AZURE_SCOPE_RE.match(location or ""):
            raise ValidationError(
                "An Azure dataset lives at a storage scope: /subscriptions/<id>/resourceGroups/<rg>/providers/"
                "Microsoft.Storage/storageAccounts/<account>[/blobServices/default/containers/<container>].",
                code="location",
            )
    else:
        raise ValidationError(f"Unknown provider {provider!r}.", code="provider")


class ApprovalPolicy(models.Model):
    """Who decides, how many must agree, and the limits a request must respect.

    Stage one needs ``approvals_required`` distinct approvals from ``approver_group``;
    restricted data needs at least two when ``two_person_rule`` is on. An optional second
    stage (``second_stage_group`` / ``second_stage_approvals``, e.g. the risk team) decides
    only after stage one is complete.
    """

    name = models.CharField(max_length=120, unique=True)
    approver_group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="+")
    approvals_required = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    max_duration_hours = models.PositiveIntegerField(default=168, validators=[MinValueValidator(1)])
    justification_required = models.BooleanField(default=True)
    two_person_rule = models.BooleanField(
        default=True, help_text="Restricted data needs two distinct approvers, neither of them the requester."
    )
    second_stage_group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="Decides after stage one."
    )
    second_stage_approvals = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "approval policies"
        constraints = [
            models.CheckConstraint(condition=models.Q(approvals_required__gte=1), name="policy_needs_an_approval"),
            models.CheckConstraint(condition=models.Q(max_duration_hours__gte=1), name="policy_duration_positive"),
            models.CheckConstraint(
                condition=models.Q(second_stage_group__isnull=True, second_stage_approvals=0)
                | models.Q(second_stage_group__isnull=False, second_stage_approvals__gte=1),
                name="policy_second_stage_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def required_for(self, classification: str) -> int:
        """Stage-one approvals a request on data of ``classification`` needs."""
        if self.two_person_rule and classification == Classification.RESTRICTED:
            return max(self.approvals_required, 2)
        return self.approvals_required


class Dataset(models.Model):
    """A production dataset that can be granted, read-only and for a while, to a workspace."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True, max_length=limits.DESCRIPTION_MAX)
    steward = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    classification = models.CharField(max_length=20, choices=Classification.choices)
    provider = models.CharField(max_length=20, choices=[(p.value, p.value) for p in Provider])
    location = models.CharField(max_length=400, help_text="s3://bucket/prefix/ or an Azure storage scope ARM id.")
    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.PROTECT, related_name="datasets")
    active = models.BooleanField(default=True, help_text="Inactive datasets cannot be requested.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            validate_location(self.provider, self.location)
        except ValidationError as exc:
            raise ValidationError({"location": exc.messages}) from exc


class RequestKind(models.TextChoices):
    DATASET = "dataset", "Dataset access"
    WORKSPACE = "workspace", "Workspace"


class RequestState(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"
    DENIED = "denied", "Denied"
    WITHDRAWN = "withdrawn", "Withdrawn"
    TIMED_OUT = "timed_out", "Timed out"


R = RequestState
FINAL_STATES = frozenset({R.EXPIRED, R.REVOKED, R.DENIED, R.WITHDRAWN, R.TIMED_OUT})


class AccessRequest(models.Model):
    """One request for a decision: read access to a dataset for a workspace, or (kind
    ``workspace``) permission to build a workspace whose template needs approval.

    The policy's rules are copied onto the request when it is made, so a later policy
    edit never changes what an in-flight request needs.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=12, choices=RequestKind.choices, default=RequestKind.DATASET)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests")
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.PROTECT, related_name="requests")
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="access_requests")
    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.PROTECT, related_name="+")
    justification = models.TextField(blank=True, max_length=limits.JUSTIFICATION_MAX)
    duration_hours = models.PositiveIntegerField(null=True, blank=True)
    approver_group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="+")
    approvals_required = models.PositiveSmallIntegerField()
    second_stage_group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    second_stage_approvals = models.PositiveSmallIntegerField(default=0)
    state = FSMField(default=R.PENDING, choices=RequestState.choices, protected=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["requester", "state"], name="access_request_requester_state"),
            # The approvers' inbox: pending requests, oldest first, the first 200 that the approver may decide.
            models.Index(fields=["state", "created_at"], name="access_request_state_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="dataset") | models.Q(dataset__isnull=False, duration_hours__isnull=False),
                name="access_request_dataset_has_dataset",
            ),
            models.CheckConstraint(condition=models.Q(approvals_required__gte=1), name="access_request_needs_approval"),
        ]

    def __str__(self) -> str:
        if self.kind == RequestKind.WORKSPACE:
            return f"Workspace {self.workspace_id}"
        return f"Access to dataset {self.dataset_id}"

    @property
    def subject(self) -> str:
        """What is asked for, in words."""
        if self.kind == RequestKind.WORKSPACE:
            return f"workspace “{self.workspace.name}”"
        assert self.dataset is not None
        return self.dataset.name

    @property
    def is_open(self) -> bool:
        return self.state == R.PENDING

    # --- lifecycle: declared once; services call these and audit each move ---------
    @transition(field=state, source=R.PENDING, target=R.APPROVED)
    def approve(self) -> None: ...

    @transition(field=state, source=R.PENDING, target=R.DENIED)
    def deny(self) -> None: ...

    @transition(field=state, source=R.PENDING, target=R.WITHDRAWN)
    def withdraw(self) -> None: ...

    @transition(field=state, source=R.PENDING, target=R.TIMED_OUT)
    def time_out(self) -> None: ...

    @transition(field=state, source=R.APPROVED, target=R.ACTIVE)
    def activate(self) -> None: ...

    @transition(field=state, source=[R.APPROVED, R.ACTIVE], target=R.EXPIRED)
    def expire(self) -> None: ...

    @transition(field=state, source=[R.APPROVED, R.ACTIVE], target=R.REVOKED)
    def revoke(self) -> None: ...


class Verdict(models.TextChoices):
    APPROVE = "approve", "Approve"
    DENY = "deny", "Deny"


class Decision(models.Model):
    """One approver's verdict on one request. Never updated: a decision is final."""

    request = models.ForeignKey(AccessRequest, on_delete=models.PROTECT, related_name="decisions")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    stage = models.PositiveSmallIntegerField(default=1)
    comment = models.TextField(blank=True, max_length=limits.COMMENT_MAX)
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["decided_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "approver"], name="decision_one_per_approver"),
            models.CheckConstraint(
                condition=~models.Q(verdict="deny") | ~models.Q(comment=""), name="decision_deny_has_comment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.verdict} by {self.approver_id}"


class GrantStatus(models.TextChoices):
    PENDING = "pending", "Being applied"
    APPLIED = "applied", "Applied"
    APPLY_FAILED = "apply_failed", "Apply failed"
    REMOVING = "removing", "Being removed"
    REMOVED = "removed", "Removed"


class Grant(models.Model):
    """The cloud permission an approved dataset request turns into, with the exact
    policy or role assignment applied (``grant_ref`` = ``GrantRef.to_json()``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.OneToOneField(AccessRequest, on_delete=models.PROTECT, related_name="grant")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="grants")
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="grants")
    status = models.CharField(max_length=20, choices=GrantStatus.choices, default=GrantStatus.PENDING)
    expires_at = models.DateTimeField(db_index=True)
    grant_ref = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    expiry_warned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Durable work: when the apply/remove task this grant is owed must have reported back by;
    # null when nothing is owed. The sweeper re-sends overdue work.
    next_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["next_due_at"], name="grant_next_due", condition=models.Q(next_due_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"Grant {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.expires_at:
            raise ValueError("a grant always has an expiry")
        # Bookkeeping like ``auto_now``, so no writer of ``status`` can forget it: a grant being
        # applied or removed owes a task and is due within the sweep grace; any other owes nothing.
        if self.status in GRANT_IN_FLIGHT:
            if self.next_due_at is None:
                self.next_due_at = timezone.now() + timedelta(seconds=int(settings.ENCLAVE_SWEEP_GRACE_SECONDS))
        else:
            self.next_due_at = None
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "status" in update_fields:
            kwargs["update_fields"] = {*update_fields, "next_due_at"}
        super().save(*args, **kwargs)


GRANT_IN_FLIGHT = frozenset({GrantStatus.PENDING, GrantStatus.REMOVING})


# --- role-membership history (for "who held the approver role for that dataset then") -----------------


class GroupMembershipPeriod(models.Model):
    """One stretch of time a user was in a group (a role group or an approver group).

    Written by ``approvals.history`` from Django's ``m2m_changed`` signal on ``User.groups``, so every
    path that assigns roles (SSO sign-in, SCIM, the admin) is covered without touching it. Periods open
    at the time the change is made; memberships that existed before history was recorded start at the
    migration time (``backfilled``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    backfilled = models.BooleanField(default=False)

    class Meta:
        ordering = ["started_at"]
        indexes = [models.Index(fields=["group", "started_at"], name="membership_group_started")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "group"], condition=models.Q(ended_at__isnull=True), name="membership_one_open_period"
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                name="membership_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id} from {self.started_at:%Y-%m-%d}"


# --- access reviews ----------------------------------------------------------------------------------


class ReviewScope(models.TextChoices):
    SENSITIVE = "sensitive", "All active grants on confidential and restricted datasets"
    CHOSEN = "chosen", "Active grants on chosen datasets"


class Recurrence(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    ONCE = "once", "Once"


class NoAnswer(models.TextChoices):
    REVOKE = "revoke", "Revoke access"
    KEEP = "keep", "Keep access"


class ReviewCampaign(models.Model):
    """A catalog admin's definition of a periodic re-certification: which grants, how often, who
    reviews (each dataset's steward, with a fallback group), for how long, and what a missed answer
    does. Each run is a ``ReviewRound``; ``next_run_at`` says when beat starts the next one."""

    name = models.CharField(max_length=120, unique=True)
    scope = models.CharField(max_length=12, choices=ReviewScope.choices, default=ReviewScope.SENSITIVE)
    datasets = models.ManyToManyField(Dataset, blank=True, related_name="+")
    recurrence = models.CharField(max_length=12, choices=Recurrence.choices, default=Recurrence.QUARTERLY)
    duration_days = models.PositiveSmallIntegerField(default=14, validators=[MinValueValidator(1)])
    on_no_answer = models.CharField(max_length=8, choices=NoAnswer.choices, default=NoAnswer.REVOKE)
    fallback_group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(duration_days__gte=1), name="review_campaign_duration_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class ReviewRound(models.Model):
    """One run of a campaign: its items are frozen when it starts; it closes at ``deadline``."""

    campaign = models.ForeignKey(ReviewCampaign, on_delete=models.PROTECT, related_name="rounds")
    started_at = models.DateTimeField()
    deadline = models.DateTimeField(db_index=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(deadline__gt=models.F("started_at")), name="review_round_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} from {self.started_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class ItemOutcome(models.TextChoices):
    PENDING = "pending", "Awaiting review"
    CERTIFIED = "certified", "Certified"
    REVOKED = "revoked", "Revoked by the reviewer"
    KEPT_BY_DEFAULT = "kept_by_default", "Kept (no answer)"
    REVOKED_BY_DEFAULT = "revoked_by_default", "Revoked (no answer)"
    ENDED = "ended", "Ended before the deadline"


class ReviewItem(models.Model):
    """One active grant under review in one round, with the reviewer's answer (or the default)."""

    round = models.ForeignKey(ReviewRound, on_delete=models.PROTECT, related_name="items")
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="review_items")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    on_no_answer = models.CharField(max_length=8, choices=NoAnswer.choices)
    outcome = models.CharField(max_length=20, choices=ItemOutcome.choices, default=ItemOutcome.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["reviewer", "outcome"], name="review_item_reviewer_outcome")]
        constraints = [
            models.UniqueConstraint(fields=["round", "grant"], name="review_item_one_per_grant"),
            models.CheckConstraint(
                condition=~models.Q(outcome="revoked") | ~models.Q(reason=""), name="review_item_revoke_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"Review of grant {self.grant_id}"

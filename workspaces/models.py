"""The catalog (templates and their immutable versions) and workspaces with their lifecycle.

Invariants live in the database where they can: one published version per
template, version numbers unique per template, a workspace's resource name
unique. State transitions are declared once, on the model, with django-fsm-2.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django_fsm import RETURN_VALUE, FSMField, transition

from workspaces.backends.base import Provider


class Classification(models.TextChoices):
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted"


class Template(models.Model):
    """A catalog entry. What it builds lives in its versions; this row carries the
    catalog-facing description and per-template limits."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    provider = models.CharField(max_length=20, choices=[(p.value, p.value) for p in Provider])
    description = models.TextField()
    intended_use = models.TextField(blank=True)
    classifications = models.JSONField(default=list, help_text="Data classifications a workspace may hold.")
    needs_approval = models.BooleanField(default=False)
    max_workspaces_per_user = models.PositiveSmallIntegerField(default=2)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"
    RETIRED = "retired", "Retired"


class ImmutableVersionError(Exception):
    """A published, superseded or retired template version's content cannot change."""


# What a version may still change once it has left draft: only its place in the lifecycle.
_VERSION_LIFECYCLE_FIELDS = frozenset({"status", "published_by", "published_at", "retired_at"})


class TemplateVersionQuerySet(models.QuerySet["TemplateVersion"]):
    def update(self, **kwargs: Any) -> int:
        """Bulk updates may move versions through the lifecycle but never rewrite a non-draft's content."""
        content = set(kwargs) - _VERSION_LIFECYCLE_FIELDS
        if content and self.exclude(status=VersionStatus.DRAFT).exists():
            raise ImmutableVersionError(f"only draft versions can change {', '.join(sorted(content))}")
        return super().update(**kwargs)


class TemplateVersion(models.Model):
    """An immutable (once published) hardened spec. Workspaces point at the version
    they were built from, so later edits never change what they run.

    Only a draft's content (spec, changelog) may change; ``save`` refuses anything
    else, so neither a service bug nor the Django admin can alter what a running
    workspace was approved against. At most one draft and one published version
    exist per template (database constraints).
    """

    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    spec = models.JSONField(help_text="Validated against the provider's schema (workspaces.specs).")
    status = models.CharField(max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    changelog = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_against = models.ForeignKey(
        "BaselinePolicy",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The baseline version this version was checked against when published.",
    )
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = TemplateVersionQuerySet.as_manager()

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_number_unique"),
            models.UniqueConstraint(
                fields=["template"],
                condition=models.Q(status="published"),
                name="template_one_published_version",
            ),
            models.UniqueConstraint(
                fields=["template"],
                condition=models.Q(status="draft"),
                name="template_one_draft_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.name} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and self.pk is not None:
            stored = (
                TemplateVersion.objects.filter(pk=self.pk)
                .values("template_id", "number", "spec", "changelog", "status", "created_by_id")
                .first()
            )
            if stored is not None and stored["status"] != VersionStatus.DRAFT:
                changed = [
                    name
                    for name in ("template_id", "number", "spec", "changelog", "created_by_id")
                    if getattr(self, name) != stored[name]
                ]
                if changed:
                    raise ImmutableVersionError(
                        f"{self} is {stored['status']}: its {', '.join(changed)} cannot change; edit the template "
                        "to create a new draft version"
                    )
        super().save(*args, **kwargs)

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


class BaselinePolicy(models.Model):
    """One version of the organisation's security baseline every published template
    version must satisfy. Never edited in place: each change is a new row with the
    next ``version``, so what a version was published against stays provable.

    Internet access, root access and the customer-managed key are not settings here:
    they are always enforced (see ``workspaces.baseline``).
    """

    version = models.PositiveIntegerField(unique=True)
    max_idle_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(5)], help_text="Longest idle time before a workspace must stop."
    )
    mandatory_tag_keys = models.JSONField(default=list, help_text="Tag keys every template must set.")
    allowed_instance_types = models.JSONField(default=list, help_text="SageMaker instance types templates may offer.")
    allowed_vm_sizes = models.JSONField(default=list, help_text="Azure ML VM sizes templates may offer.")
    max_volume_gb = models.PositiveIntegerField(
        validators=[MinValueValidator(5)], help_text="Ceiling for a workspace's storage volume (GB)."
    )
    change_note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.CheckConstraint(condition=models.Q(max_idle_minutes__gte=5), name="baseline_idle_at_least_5"),
            models.CheckConstraint(condition=models.Q(max_volume_gb__gte=5), name="baseline_volume_at_least_5"),
        ]

    def __str__(self) -> str:
        return f"Baseline v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableVersionError("a baseline version is never edited: create the next version instead")
        super().save(*args, **kwargs)


class InstancePrice(models.Model):
    """The maintained price table: what one hour of an instance type / VM size costs,
    used for the catalog's cost estimates."""

    provider = models.CharField(max_length=20, choices=[(p.value, p.value) for p in Provider])
    size = models.CharField(max_length=40, help_text="SageMaker instance type or Azure VM size.")
    hourly_price = models.DecimalField(max_digits=10, decimal_places=4, validators=[MinValueValidator(Decimal(0))])
    currency = models.CharField(max_length=3, default="EUR")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "size"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "size"], name="instance_price_unique_size"),
            models.CheckConstraint(condition=models.Q(hourly_price__gte=0), name="instance_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.size}: {self.hourly_price} {self.currency}/h"


class RoleQuota(models.Model):
    """Per-role workspace limits; a user gets the most generous quota among their roles."""

    role = models.CharField(max_length=30, unique=True)
    max_running = models.PositiveSmallIntegerField(help_text="Workspaces running (or on their way) at once.")
    max_total = models.PositiveSmallIntegerField(help_text="Workspaces that exist at once, in any live state.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["role"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_running__lte=models.F("max_total")), name="role_quota_running_within_total"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.max_running} running / {self.max_total} total"


class WorkspaceState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PROVISIONING = "provisioning", "Provisioning"
    RUNNING = "running", "Running"
    STOPPING = "stopping", "Stopping"
    STOPPED = "stopped", "Stopped"
    STARTING = "starting", "Starting"
    DELETING = "deleting", "Deleting"
    DELETED = "deleted", "Deleted"
    FAILED = "failed", "Failed"


S = WorkspaceState
LIVE_STATES = [
    S.REQUESTED, S.PENDING_APPROVAL, S.APPROVED, S.PROVISIONING, S.RUNNING, S.STOPPING, S.STOPPED, S.STARTING, S.FAILED,
]  # fmt: skip
RUNNING_STATES = [S.REQUESTED, S.APPROVED, S.PROVISIONING, S.RUNNING, S.STARTING]


class Workspace(models.Model):
    """One data scientist's notebook in the cloud, built from one template version."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="workspaces")
    template_version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="workspaces")
    name = models.CharField(max_length=60, help_text="The owner's label for it.")
    provider = models.CharField(max_length=20, choices=[(p.value, p.value) for p in Provider])
    instance_type = models.CharField(max_length=40)
    volume_size_gb = models.PositiveIntegerField()
    data_classification = models.CharField(max_length=20, choices=Classification.choices)
    cost_centre = models.CharField(max_length=64)
    resource_name = models.CharField(max_length=63, unique=True)
    state = FSMField(default=S.REQUESTED, choices=WorkspaceState.choices, protected=False, db_index=True)
    cloud_ref = models.JSONField(default=dict, blank=True)
    cloud_status = models.CharField(max_length=40, blank=True, help_text="The provider's own status word.")
    applied_hardening = models.JSONField(default=dict, blank=True, help_text="Read back from the cloud.")
    last_error = models.TextField(blank=True)
    last_error_code = models.CharField(max_length=40, blank=True)
    poll_attempts = models.PositiveIntegerField(default=0)
    operation_started_at = models.DateTimeField(null=True, blank=True)
    running_since = models.DateTimeField(null=True, blank=True)
    accrued_running_seconds = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    failed_during = models.CharField(
        max_length=20, blank=True, help_text="The state the workspace was in when it failed; a retry resumes from it."
    )
    drift = models.JSONField(default=list, blank=True, help_text="What the last reconciliation found wrong.")
    reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "state"], name="workspace_owner_state"),
            # The fleet lists the newest 200 of every workspace: an index walk, not a sort of the table.
            models.Index(fields=["-created_at"], name="workspace_created"),
        ]

    def __str__(self) -> str:
        return self.name

    # --- lifecycle: declared once; services call these and audit each move ---------
    @transition(field=state, source=S.REQUESTED, target=S.PENDING_APPROVAL)
    def await_approval(self) -> None: ...

    @transition(field=state, source=S.PENDING_APPROVAL, target=S.APPROVED)
    def approve(self) -> None: ...

    @transition(field=state, source=S.PENDING_APPROVAL, target=S.REJECTED)
    def reject(self) -> None: ...

    @transition(field=state, source=[S.REQUESTED, S.APPROVED, S.FAILED], target=S.PROVISIONING)
    def begin_provisioning(self) -> None: ...

    @transition(field=state, source=[S.PROVISIONING, S.STARTING], target=S.RUNNING)
    def mark_running(self) -> None: ...

    @transition(field=state, source=[S.RUNNING, S.FAILED], target=S.STOPPING)
    def begin_stop(self) -> None: ...

    @transition(field=state, source=[S.STOPPING, S.PROVISIONING, S.STARTING], target=S.STOPPED)
    def mark_stopped(self) -> None: ...

    @transition(field=state, source=S.STOPPED, target=S.STARTING)
    def begin_start(self) -> None: ...

    @transition(
        field=state,
        source=[S.REQUESTED, S.PENDING_APPROVAL, S.APPROVED, S.PROVISIONING, S.RUNNING, S.STOPPING, S.STOPPED,
                S.STARTING, S.FAILED, S.REJECTED],
        target=S.DELETING,
    )  # fmt: skip
    def begin_delete(self) -> None: ...

    @transition(field=state, source=S.DELETING, target=S.DELETED)
    def mark_deleted(self) -> None: ...

    @transition(field=state, source=[S.PROVISIONING, S.STARTING, S.STOPPING, S.DELETING, S.RUNNING], target=S.FAILED)
    def mark_failed(self) -> None: ...

    # Reconciliation: the cloud moved on its own (idle shutdown, console action, deletion).
    @transition(
        field=state,
        source=[S.RUNNING, S.STOPPED, S.FAILED],
        target=RETURN_VALUE(S.RUNNING, S.STOPPED, S.FAILED),  # type: ignore[arg-type]
    )
    def reconcile(self, observed: str) -> str:
        return observed

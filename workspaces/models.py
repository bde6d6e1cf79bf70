"""Workspaces and their lifecycle.

Invariants live in the database where they can: a workspace's resource name is
unique. State transitions are declared once, on the model, with django-fsm-2.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django_fsm import RETURN_VALUE, FSMField, transition

from catalog.models import Classification, TemplateVersion
from catalog.providers import Provider


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
# States in which a task is owed: the workspace records when it is next due (``next_due_at``).
IN_FLIGHT_STATES = frozenset({S.REQUESTED, S.APPROVED, S.PROVISIONING, S.STARTING, S.STOPPING, S.DELETING})


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
    # Indexed by workspace_state_created (state, created_at, id); a second index on state alone
    # would only give the planner a worse choice (state filter + sort) for the fleet's pages.
    state = FSMField(default=S.REQUESTED, choices=WorkspaceState.choices, protected=False)
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
    # Durable work: when the task this workspace is owed (provision, poll, stop, start, delete) must
    # have reported back by; null when nothing is owed. The sweeper re-sends overdue work.
    next_due_at = models.DateTimeField(null=True, blank=True)
    # Reconciliation: the first definitive "not found" from the cloud; missing only on a second look.
    missing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "state"], name="workspace_owner_state"),
            # The fleet lists the newest 200 of every workspace: an index walk, not a sort of the table.
            models.Index(fields=["-created_at"], name="workspace_created"),
            # The sweeper's query: only rows that owe a task are in this index.
            models.Index(
                fields=["next_due_at"], name="workspace_next_due", condition=models.Q(next_due_at__isnull=False)
            ),
            # The fleet filtered by state, a keyset page at a time (state = X ORDER BY created_at DESC, id DESC).
            models.Index(fields=["state", "-created_at", "-id"], name="workspace_state_created"),
            # My workspaces, a keyset page at a time (owner = X ORDER BY created_at DESC, id DESC).
            models.Index(fields=["owner", "-created_at", "-id"], name="workspace_owner_created"),
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

"""The append-only, hash-chained audit trail.

Each event's ``hash`` is sha256(prev_hash + canonical JSON of the event), so
changing, removing or reordering any row breaks every hash after it. Rows are
never updated or deleted: the model and queryset refuse it here, and on
PostgreSQL a trigger refuses it in the database too (migration 0003).
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models

from audit.actions import Outcome


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events are append-only: update refused")

    def delete(self) -> NoReturn:  # type: ignore[override]
        raise AppendOnlyError("audit events are append-only: delete refused")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        raise AppendOnlyError("audit events are append-only: update refused")


class AuditEvent(models.Model):
    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    actor_label = models.CharField(max_length=200)  # username snapshot, or "task:..."/"system:..."
    actor_roles = models.JSONField(default=list)
    actor_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    action = models.CharField(max_length=80)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=80, blank=True)
    target_display = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=10, choices=[(o.value, o.value) for o in Outcome])
    details = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "seq"], name="audit_target_seq"),
            models.Index(fields=["actor", "seq"], name="audit_actor_seq"),
            models.Index(fields=["action", "seq"], name="audit_action_seq"),
            models.Index(fields=["request_id"], name="audit_request_id"),
            # The actor filter for system actors (task:..., idp:...): partial, so user events (indexed by
            # actor_id above) add nothing to it and appends by users pay nothing for it.
            models.Index(
                fields=["actor_label", "seq"], name="audit_system_actor_seq", condition=models.Q(actor__isnull=True)
            ),
        ]
        # Every index slows every append: composite (filter, seq) indexes serve the filtered,
        # seq-ordered pages; no LIKE or single-column duplicates of them.
        constraints = [
            models.UniqueConstraint(fields=["hash"], name="audit_hash_unique"),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_seq_positive"),
            models.CheckConstraint(
                condition=models.Q(outcome__in=[o.value for o in Outcome]), name="audit_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.outcome} by {self.actor_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only: update refused")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events are append-only: delete refused")


class AuditChainHead(models.Model):
    """The append lock: one row that every append locks, so appends queue and the chain
    never forks. The tip itself is read from the newest event (primary-key index), so
    the row is never rewritten and appends leave no dead row versions behind."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_singleton")]

    def __str__(self) -> str:
        return "audit chain append lock"

"""Celery tasks of data access: apply and remove grants in the cloud, the beat sweeps
(expiry; reminders, escalations, time-outs, expiry warnings) and e-mail.

Tasks are thin and idempotent: each loads by id, re-checks state (the services lock the
request before changing it), makes one cloud call through the provider backend and reports
the outcome to a service. Retryable cloud errors retry with exponential back-off.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import Task, shared_task
from django.utils.dateparse import parse_datetime

from approvals import notifications, services
from approvals.services import grants
from workspaces import backends
from workspaces.backends.base import CloudError, CloudRef, DataGrantSpec, GrantRef, WorkspaceBackend

MAX_APPLY_RETRIES = 5
log = logging.getLogger(__name__)


def backend_for(provider: str) -> WorkspaceBackend:
    """The provider's backend (unit tests replace this with a fake)."""
    return backends.get_backend(provider)


def _parse_now(now: str | None) -> datetime | None:
    """Tests (and operators replaying a window) may pass the sweep's notion of now as ISO 8601."""
    if not now:
        return None
    parsed = parse_datetime(now)
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(f"now must be an ISO 8601 time with a zone, not {now!r}")
    return parsed


def backoff(retries: int, exc: CloudError | None = None) -> float:
    """The provider's hint if it gave one (bounded), else 5, 10, 20, 40, 80 seconds."""
    if exc is not None and exc.retry_after is not None:
        return float(min(max(exc.retry_after, 1.0), 300.0))
    return float(min(5 * 2**retries, 300))


def apply_step(grant_id: str) -> tuple[bool, CloudError | None]:
    """Apply one grant; returns (applied, error)."""
    grant = services.grant_to_apply(grant_id)
    if grant is None:
        return False, None
    spec = DataGrantSpec(
        grant_id=str(grant.pk),
        dataset_slug=grant.dataset.slug,
        location=grant.dataset.location,
        expires_at=grant.expires_at,
    )
    try:
        ref = backend_for(grant.workspace.provider).grant_data_access(
            CloudRef.from_json(grant.workspace.cloud_ref), spec
        )
    except CloudError as exc:
        return False, exc
    return services.record_grant_applied(grant.pk, ref), None


@shared_task(bind=True, name="approvals.apply_grant", max_retries=MAX_APPLY_RETRIES)
def apply_grant(self: Task, grant_id: str) -> None:
    """Apply an approved grant; a failure is shown on the request and retried with back-off."""
    try:
        _applied, error = apply_step(grant_id)
    except Exception:
        log.exception("grant %s: unexpected error while applying", grant_id)
        services.record_apply_failed(
            grant_id, "An unexpected error stopped the grant; the platform team can see the details.", "internal",
            will_retry=False,
        )  # fmt: skip
        raise
    if error is None:
        return
    will_retry = error.retryable and self.request.retries < MAX_APPLY_RETRIES
    services.record_apply_failed(grant_id, error.user_message, error.provider_code or error.code, will_retry=will_retry)
    if will_retry:
        countdown = backoff(self.request.retries, error)
        raise self.retry(countdown=countdown, exc=error)


def remove_step(grant_id: str) -> tuple[bool, CloudError | None]:
    grant = services.grant_to_remove(grant_id)
    if grant is None:
        return False, None
    if grant.grant_ref:
        ref = GrantRef.from_json(grant.grant_ref)
    else:  # never applied (or the apply result was lost): remove by the deterministic name anyway
        ref = GrantRef(provider=grant.workspace.provider, grant_id=str(grant.pk))  # type: ignore[arg-type]
    try:
        backend_for(grant.workspace.provider).revoke_data_access(CloudRef.from_json(grant.workspace.cloud_ref), ref)
    except CloudError as exc:
        return False, exc
    return services.record_grant_removed(grant.pk), None


@shared_task(bind=True, name="approvals.remove_grant", max_retries=8)
def remove_grant(self: Task, grant_id: str) -> None:
    """Remove an expired or revoked grant from the cloud; idempotent (already gone is success)."""
    _, error = remove_step(grant_id)
    if error is None:
        return
    services.record_remove_failed(grant_id, error.user_message, error.provider_code or error.code)
    if self.request.retries < 8:
        countdown = backoff(self.request.retries, error)
        grants.postpone(grant_id, countdown)
        raise self.retry(countdown=countdown, exc=error)


@shared_task(name="approvals.expire_grants")
def expire_grants(now: str | None = None) -> dict[str, int]:
    """Beat: expire every grant whose time is up (and retry failed applications)."""
    moment = _parse_now(now)
    return {"expired": services.expire_due(moment), "retried": services.retry_failed_grants(moment)}


@shared_task(name="approvals.follow_up_requests")
def follow_up_requests(now: str | None = None) -> dict[str, int]:
    """Beat: reminders, escalations, time-outs and expiry warnings."""
    return services.follow_up(_parse_now(now))


@shared_task(name="approvals.send_notification", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification(kind: str, request_id: str, extra: dict[str, Any] | None = None) -> int:
    return notifications.send(kind, request_id, extra)

"""Alerting people about the trail's integrity: one e-mail to every active auditor and
catalog admin, sent when the caller's transaction commits (with the event that records why)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

from core.roles import Role

logger = logging.getLogger(__name__)

ALERT_ROLES = (Role.AUDITOR, Role.CATALOG_ADMIN)


def integrity_alert(subject: str, body: str) -> list[str]:
    """Queue the alert; returns the recipients (none: logged as an error instead)."""
    recipients = list(
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[r.value for r in ALERT_ROLES])
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )
    if not recipients:
        logger.error("%s — and no auditor or catalog admin has an e-mail address to alert", subject)
        return []
    text = f"{body}\nPortal: {settings.ENCLAVE_BASE_URL}\n"
    transaction.on_commit(lambda: send_mail(f"[Enclave] {subject}", text, None, recipients, fail_silently=False))
    return recipients

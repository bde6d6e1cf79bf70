"""Enclave's project package: settings, URLs, the Celery app, identity and roles."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]

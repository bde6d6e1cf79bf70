"""The Django admin shows audit events and nothing else: no add, change or delete."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse

from audit.actions import Action
from audit.models import AuditEvent
from audit.services import record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return UserFactory(username="root.admin", is_staff=True, is_superuser=True)


def test_even_a_superuser_can_only_view_events_in_the_admin(rf, superuser):
    request = rf.get("/")
    request.user = superuser
    model_admin = site._registry[AuditEvent]
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_admin_lists_events_and_refuses_the_add_and_delete_pages(client, superuser, scientist):
    event = record(action=Action.AUTH_LOGIN, actor=scientist)
    client.force_login(superuser)
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditevent_change", args=[event.seq])).status_code == 200
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_delete", args=[event.seq]), {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(seq=event.seq).exists()

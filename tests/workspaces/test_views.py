"""The workspace pages: my workspaces with live status, the request form, the workspace page
and its actions, the owner-only open, and the fleet — with audited 404s for other people."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from catalog.models import InstancePrice
from tests.factories import WorkspaceFactory
from tests.workspaces.fakes import make_workspace
from workspaces import services
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa_gate(settings):
    settings.ENCLAVE_MFA_REQUIRED_ROLES = []  # MFA enforcement has its own tests; here: roles and ownership


CLOUD_REF = {"provider": "aws_sagemaker", "resource_name": "enclave-abc"}


def test_my_workspaces_polls_only_while_something_is_in_flight(client, scientist):
    client.force_login(scientist)
    ws = make_workspace(owner=scientist, state="provisioning")
    page = client.get(reverse("workspaces:my_workspaces")).content.decode()
    assert 'hx-trigger="every 3s"' in page
    assert ws.name in page
    Workspace.objects.filter(pk=ws.pk).update(state="running")
    fragment = client.get(reverse("workspaces:my_workspaces_rows")).content.decode()
    assert "hx-trigger" not in fragment
    assert "Running" in fragment


def test_my_workspaces_lists_only_my_own(client, scientist, other_scientist):
    mine = make_workspace(owner=scientist, name="mine")
    theirs = make_workspace(owner=other_scientist, name="theirs")
    client.force_login(scientist)
    page = client.get(reverse("workspaces:my_workspaces")).content.decode()
    assert str(mine.pk) in page
    assert str(theirs.pk) not in page


def test_my_workspaces_runs_a_constant_number_of_queries(client, scientist, django_assert_max_num_queries):
    client.force_login(scientist)
    WorkspaceFactory.create_batch(2, owner=scientist)
    client.get(reverse("workspaces:my_workspaces"))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("workspaces:my_workspaces"))
    WorkspaceFactory.create_batch(8, owner=scientist)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("workspaces:my_workspaces"))


def test_request_form_offers_only_what_the_version_allows(client, scientist, sm_template):
    client.force_login(scientist)
    page = client.get(reverse("workspaces:request", kwargs={"slug": sm_template.slug})).content.decode()
    assert '<option value="ml.t3.medium" selected>' in page
    assert '<option value="ml.t3.large">' in page
    assert 'max="50"' in page
    assert '<option value="restricted">' not in page


def test_requesting_through_the_form_goes_to_the_workspace_page(client, scientist, sm_template, task_queue):
    client.force_login(scientist)
    response = client.post(
        reverse("workspaces:request", kwargs={"slug": sm_template.slug}),
        {"name": "churn", "instance_type": "ml.t3.large", "volume_size_gb": 30,
         "data_classification": "confidential", "cost_centre": "CC-42"},
    )  # fmt: skip
    ws = Workspace.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("workspaces:detail", kwargs={"pk": ws.pk})
    assert (ws.instance_type, ws.volume_size_gb, ws.cost_centre) == ("ml.t3.large", 30, "CC-42")


def test_quota_refusal_is_shown_on_the_form(client, scientist, sm_template, task_queue):
    sm_template.max_workspaces_per_user = 0
    sm_template.save()
    client.force_login(scientist)
    response = client.post(
        reverse("workspaces:request", kwargs={"slug": sm_template.slug}),
        {"name": "churn", "instance_type": "ml.t3.medium", "volume_size_gb": 20,
         "data_classification": "internal", "cost_centre": "CC-42"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "allows 0 workspaces per person" in response.content.decode()
    assert not Workspace.objects.exists()


@pytest.mark.parametrize("role_user", ["approver", "auditor"])
def test_approver_and_auditor_cannot_open_the_request_form(client, request, role_user, sm_template):
    user = request.getfixturevalue(role_user)
    client.force_login(user)
    response = client.get(reverse("workspaces:request", kwargs={"slug": sm_template.slug}))
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="access.denied", actor=user).exists()


def test_workspace_page_shows_hardening_cost_timeline_and_actions(client, scientist, sm_template, task_queue,
                                                                  fake_backend, request_kwargs):  # fmt: skip
    InstancePrice.objects.create(provider="aws_sagemaker", size="ml.t3.medium", hourly_price="0.0500")
    ws = services.request_workspace(scientist, **request_kwargs)
    task_queue.drain()
    client.force_login(scientist)
    page = client.get(reverse("workspaces:detail", kwargs={"pk": ws.pk})).content.decode()
    assert "DirectInternetAccess" in page  # read back from the cloud
    assert "0.00 EUR" in page
    assert "workspace.provisioning" in page
    assert "workspace.running" in page
    assert 'data-testid="open"' in page
    assert 'data-testid="stop"' in page
    assert "hx-trigger" not in page  # running: nothing to poll


def test_workspace_page_timeline_costs_one_query(client, scientist, django_assert_max_num_queries):
    ws = make_workspace(owner=scientist, state="running")
    client.force_login(scientist)
    url = reverse("workspaces:detail", kwargs={"pk": ws.pk})
    client.get(url)
    with django_assert_max_num_queries(12):
        client.get(url)


@pytest.mark.parametrize("name", ["detail", "detail_live"])
def test_another_scientist_gets_an_audited_404_for_my_workspace_page(client, scientist, other_scientist, name):
    ws = make_workspace(owner=scientist)
    client.force_login(other_scientist)
    assert client.get(reverse(f"workspaces:{name}", kwargs={"pk": ws.pk})).status_code == 404
    assert AuditEvent.objects.get(action="access.denied", actor=other_scientist).target_id == str(ws.pk)


@pytest.mark.parametrize("name", ["open", "stop", "start", "delete", "retry"])
def test_another_scientist_cannot_act_on_my_workspace(
    client, scientist, other_scientist, name, fake_backend, task_queue
):
    ws = make_workspace(owner=scientist, state="running", cloud_ref=CLOUD_REF)
    client.force_login(other_scientist)
    assert client.post(reverse(f"workspaces:{name}", kwargs={"pk": ws.pk})).status_code == 404
    assert Workspace.objects.get(pk=ws.pk).state == "running"
    assert fake_backend.calls == []
    assert AuditEvent.objects.filter(action="access.denied", actor=other_scientist, target_id=str(ws.pk)).exists()


@pytest.mark.parametrize("role_user", ["catalog_admin", "auditor"])
def test_fleet_viewers_see_a_workspace_but_cannot_act_on_it(client, request, role_user, scientist, fake_backend):
    user = request.getfixturevalue(role_user)
    ws = make_workspace(owner=scientist, state="running", cloud_ref=CLOUD_REF)
    client.force_login(user)
    page = client.get(reverse("workspaces:detail", kwargs={"pk": ws.pk})).content.decode()
    assert 'data-testid="open"' not in page
    assert client.post(reverse("workspaces:open", kwargs={"pk": ws.pk})).status_code == 404
    assert fake_backend.calls == []


def test_owner_open_redirects_to_a_fresh_short_lived_url(client, scientist, fake_backend):
    ws = make_workspace(owner=scientist, state="running", cloud_ref=CLOUD_REF)
    client.force_login(scientist)
    response = client.post(reverse("workspaces:open", kwargs={"pk": ws.pk}))
    assert response.status_code == 302
    assert response["Location"].startswith("https://notebooks.example/enclave-abc")
    assert response["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(action="workspace.opened", actor=scientist).count() == 1


def test_open_is_post_only(client, scientist):
    ws = make_workspace(owner=scientist, state="running", cloud_ref=CLOUD_REF)
    client.force_login(scientist)
    assert client.get(reverse("workspaces:open", kwargs={"pk": ws.pk})).status_code == 405


def test_owner_stop_through_the_page(client, scientist, task_queue):
    ws = make_workspace(owner=scientist, state="running", cloud_ref=CLOUD_REF)
    client.force_login(scientist)
    response = client.post(reverse("workspaces:stop", kwargs={"pk": ws.pk}))
    assert response.status_code == 302
    assert Workspace.objects.get(pk=ws.pk).state == "stopping"


def test_failed_workspace_shows_the_message_and_a_retry_button(client, scientist):
    ws = make_workspace(owner=scientist, state="failed", last_error="AWS limit reached for ml.t3.medium.")
    client.force_login(scientist)
    page = client.get(reverse("workspaces:detail", kwargs={"pk": ws.pk})).content.decode()
    assert "AWS limit reached for ml.t3.medium." in page
    assert 'data-testid="retry"' in page


def test_fleet_lists_every_workspace_with_drift_at_constant_queries(client, auditor, django_assert_max_num_queries):
    make_workspace(state="running", drift=["missing in cloud"])
    client.force_login(auditor)
    client.get(reverse("workspaces:fleet"))
    with django_assert_max_num_queries(12) as few:
        page = client.get(reverse("workspaces:fleet")).content.decode()
    assert "missing in cloud" in page
    WorkspaceFactory.create_batch(6, state="stopped")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("workspaces:fleet"))


def test_fleet_is_refused_to_scientists(client, scientist):
    client.force_login(scientist)
    assert client.get(reverse("workspaces:fleet")).status_code == 403


def test_fleet_shows_how_much_work_waits_for_a_worker_and_the_oldest_wait(client, auditor):
    from datetime import timedelta

    from django.utils import timezone

    make_workspace(state="requested", next_due_at=timezone.now() - timedelta(minutes=7))
    make_workspace(state="provisioning", next_due_at=timezone.now() + timedelta(minutes=1))
    client.force_login(auditor)
    page = client.get(reverse("workspaces:fleet")).content.decode()
    waiting = page.split('data-testid="fleet-waiting"', 1)[1].split("</p>", 1)[0]
    assert "<strong>1</strong> overdue, the oldest by 7 min" in waiting
    assert "2 in flight" in waiting


def test_fleet_shows_drift_with_the_providers_current_status(client, auditor):
    ws = make_workspace(state="stopped", drift=["stopped outside Enclave"], cloud_status="Stopped")
    client.force_login(auditor)
    page = client.get(reverse("workspaces:fleet")).content.decode()
    row = page.split(f'data-testid="fleet-row-{ws.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "stopped outside Enclave" in row
    assert '<td class="mono" data-testid="cloud-status">Stopped</td>' in row


def test_a_queued_workspace_says_when_it_will_start(client, scientist):
    ws = make_workspace(owner=scientist, state="requested")
    client.force_login(scientist)
    page = client.get(reverse("workspaces:detail", kwargs={"pk": ws.pk})).content.decode()
    assert "Queued — starts within a minute." in page

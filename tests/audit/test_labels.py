"""One registry of people's words for audit actions; the filter groups them by area."""

from __future__ import annotations

from audit.actions import Action
from audit.filters import EventFilterForm
from audit.labels import ACTION_LABELS, action_label, actor_label


def test_every_audit_action_has_a_human_label() -> None:
    assert sorted(ACTION_LABELS) == sorted(a.value for a in Action)
    assert all(label and "." not in label and "_" not in label for label in ACTION_LABELS.values())


def test_system_actors_read_as_enclave_and_people_as_themselves() -> None:
    assert actor_label("task:workspaces.poll") == "Enclave (status check)"
    assert actor_label("sam.scientist") == "sam.scientist"


def test_the_audit_action_filter_is_grouped_by_area_in_human_words() -> None:
    html = str(EventFilterForm()["action"])

    assert '<optgroup label="Workspaces">' in html
    assert '<option value="workspace.requested">Workspace requested</option>' in html
    assert action_label("workspace.requested") == "Workspace requested"


def test_the_audit_date_filters_are_date_pickers_that_accept_what_they_send() -> None:
    form = EventFilterForm({"since": "2026-11-30T09:00", "until": "2026-12-01T17:30:15"})

    assert 'type="datetime-local"' in str(form["since"])
    assert form.is_valid(), form.errors
    assert form.to_filter().since is not None

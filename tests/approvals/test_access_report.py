"""The access report answers "who could read dataset X on day D, who approved it, why, and how it
ended" exactly, for a scripted history: a grant that expires on D, a second grant revoked on D, a
third removed by an access review on D, one that ended before D and one that began after it; and
who held the approver role for the dataset that day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client

from approvals import review_tasks, services, tasks
from approvals.models import Grant
from approvals.selectors_report import Window, access_report, parse_window, report_csv
from approvals.services import reviews
from audit.models import AuditEvent
from tests.approvals.conftest import TaskQueue, make_dataset, make_user, make_workspace
from tests.approvals.fakes import FakeGrantBackend

pytestmark = pytest.mark.django_db
D = date(2026, 3, 3)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _review_tasks_runnable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "send_review_notification", review_tasks.send_review_notification, raising=False)


def workspace_of(user: Any) -> Any:
    return make_workspace(
        owner=user, state="running", data_classification="confidential",
        cloud_ref={"provider": "aws_sagemaker", "resource_name": f"ws-{user.username}", "resource_id": "",
                   "extra": {}},
    )  # fmt: skip


def grant_at(who: Any, ds: Any, approver: Any, *, asked: datetime, approved: datetime, hours: int, why: str,
             comment: str, queue: TaskQueue) -> Grant:  # fmt: skip
    with time_machine.travel(asked, tick=False):
        req = services.request_access(who, ds, workspace_of(who), why, hours)
    with time_machine.travel(approved, tick=False):
        services.approve_request(approver, req, comment)
        queue.run()
    return Grant.objects.get(request=req)


@pytest.fixture
def history(queue: TaskQueue, fake_backend: FakeGrantBackend) -> dict[str, Any]:
    with time_machine.travel(at(15, 10, month=2), tick=False):
        alex = make_user(username="alex.approver", roles=["approver"])
        bea = make_user(username="bea.approver", roles=["approver"])
        stella = make_user(username="stella.steward", roles=["approver"])
        admin = make_user(username="cara.admin", roles=["catalog_admin"])
        sam, olga, carl, dina = (
            make_user(username=n, roles=["data_scientist"]) for n in ("sam", "olga", "carl", "dina")
        )
        cards = make_dataset(slug="cards", name="Card transactions", classification="confidential", steward=stella)
    # Before D: dina's one-day grant, expired and removed on 21 Feb.
    dina_grant = grant_at(dina, cards, alex, asked=at(20, 9, month=2), approved=at(20, 9, 10, month=2), hours=24,
                          why="One-off reconciliation of February.", comment="ok", queue=queue)  # fmt: skip
    with time_machine.travel(at(21, 9, 15, month=2), tick=False):
        services.expire_due()
        queue.run()
    # The grant: sam, two days from 1 March; it expires on D.
    sam_grant = grant_at(sam, cards, alex, asked=at(1, 9), approved=at(1, 9, 30), hours=48,
                         why="Fraud model retraining for Q1.", comment="Fine for Q1.", queue=queue)  # fmt: skip
    # The second grant: olga from 2 March, revoked by alex on D.
    olga_grant = grant_at(
        olga, cards, alex, asked=at(2, 11), approved=at(2, 11, 5), hours=168,
        why="Chargeback analysis for the card team.", comment="Approved, one week.", queue=queue,
    )  # fmt: skip
    # carl, approved by bea, removed by the access review on D.
    carl_grant = grant_at(carl, cards, bea, asked=at(2, 12), approved=at(2, 12, 30), hours=168,
                          why="Stress-test scenario build.", comment="ok for the stress test", queue=queue)  # fmt: skip
    with time_machine.travel(at(2, 18), tick=False):  # bea leaves the approver role the evening before D
        Group.objects.get(name="approver").user_set.remove(bea)
    with time_machine.travel(at(3, 8), tick=False):
        campaign = reviews.create_campaign(actor=admin, name="Q1 review", first_run_at=at(3, 8))
        reviews.run_reviews()
        queue.run()
    with time_machine.travel(at(3, 9, 31), tick=False):  # the expiry sweep
        services.expire_due()
        queue.run()
    with time_machine.travel(at(3, 12), tick=False):  # nina joins the approvers at noon on D
        nina = make_user(username="nina.approver", roles=["approver"])
    with time_machine.travel(at(3, 14), tick=False):
        services.revoke_grant(alex, olga_grant.request, "Moved to another team.")
        queue.run()
    with time_machine.travel(at(3, 16), tick=False):
        item = campaign.rounds.get().items.get(grant=carl_grant)
        reviews.decide_item(actor=stella, item_id=item.pk, verdict="revoke", reason="No longer on the project.")
        queue.run()
    # After D: sam asks again on 4 March.
    later = grant_at(sam, cards, alex, asked=at(4, 10), approved=at(4, 10, 5), hours=8,
                     why="Fraud model retraining, second pass.", comment="ok", queue=queue)  # fmt: skip
    return {
        "cards": cards, "alex": alex, "stella": stella, "nina": nina, "sam": sam, "dina": dina_grant,
        "sam_grant": sam_grant, "olga_grant": olga_grant, "carl_grant": carl_grant, "later": later, "item": item,
    }  # fmt: skip


def seq(action: str, target: Any) -> int:
    return int(AuditEvent.objects.get(action=action, target_id=str(target.pk)).seq)


def facts(row: Any) -> list[tuple[str, Any, str, int | None]]:
    return [(f.kind, f.at, f.by, f.seq) for f in row.facts]


def test_the_report_for_day_d_lists_exactly_the_grants_that_could_read_the_dataset(history: dict[str, Any]) -> None:
    h = history
    report = access_report(Window(D, D), dataset=h["cards"])
    sam, olga, carl = h["sam_grant"], h["olga_grant"], h["carl_grant"]
    assert [r.grant_id for r in report.rows] == [str(sam.pk), str(olga.pk), str(carl.pk)]
    by_id = {r.grant_id: r for r in report.rows}

    row = by_id[str(sam.pk)]
    assert (row.requester, row.workspace, row.principal) == ("sam", sam.workspace.name, "IAM role ws-sam-role")
    assert row.justification == "Fraud model retraining for Q1."
    assert [(a["approver"], a["verdict"], a["comment"], a["decided_at"]) for a in row.approvers] == [
        ("alex.approver", "approve", "Fine for Q1.", at(1, 9, 30))
    ]
    assert (row.start, row.end, row.ended, row.ended_at, row.removed_at) == (
        at(1, 9, 30), at(3, 9, 30), "expired", at(3, 9, 31), at(3, 9, 31),
    )  # fmt: skip
    sam_req = sam.request
    assert facts(row) == [
        ("requested", at(1, 9), "sam", seq("access_request.requested", sam_req)),
        ("approved", at(1, 9, 30), "alex.approver", seq("access_request.approval_recorded", sam_req)),
        ("applied", at(1, 9, 30), "", seq("grant.applied", sam)),
        ("expired", at(3, 9, 31), "", seq("grant.expired", sam)),
        ("removed", at(3, 9, 31), "", seq("grant.removed", sam)),
    ]

    row = by_id[str(olga.pk)]
    assert (row.requester, row.justification) == ("olga", "Chargeback analysis for the card team.")
    assert [(a["approver"], a["comment"]) for a in row.approvers] == [("alex.approver", "Approved, one week.")]
    assert (row.start, row.end, row.ended, row.ended_by, row.end_reason) == (
        at(2, 11, 5), at(3, 14), "revoked", "alex.approver", "Moved to another team.",
    )  # fmt: skip
    assert facts(row)[-2:] == [
        ("revoked", at(3, 14), "alex.approver", seq("grant.revoked", olga.request)),
        ("removed", at(3, 14), "", seq("grant.removed", olga)),
    ]

    row = by_id[str(carl.pk)]
    assert [(a["approver"], a["comment"]) for a in row.approvers] == [("bea.approver", "ok for the stress test")]
    assert (row.start, row.end, row.ended, row.ended_by) == (at(2, 12, 30), at(3, 16), "removed by review",
                                                             "stella.steward")  # fmt: skip
    assert "No longer on the project." in row.end_reason
    assert [f[:3] for f in facts(row)[-3:]] == [
        ("review", at(3, 16), "stella.steward"), ("revoked", at(3, 16), "stella.steward"), ("removed", at(3, 16), ""),
    ]  # fmt: skip
    assert facts(row)[-3][3] == seq("review_item.revoked", h["item"])


def test_the_report_names_who_held_the_approver_role_for_the_dataset_that_day(history: dict[str, Any]) -> None:
    report = access_report(Window(D, D), dataset=history["cards"])
    assert [(a.username, a.start, a.end) for a in report.approvers] == [
        ("alex.approver", at(15, 10, month=2), None),
        ("nina.approver", at(3, 12), None),
        ("stella.steward", at(15, 10, month=2), None),
    ]


def test_the_day_before_the_former_approver_still_held_the_role(history: dict[str, Any]) -> None:
    report = access_report(Window(date(2026, 3, 2), date(2026, 3, 2)), dataset=history["cards"])
    assert ("bea.approver", at(2, 18)) in [(a.username, a.end) for a in report.approvers]
    assert "nina.approver" not in [a.username for a in report.approvers]


def test_the_day_after_only_the_new_grant_is_listed(history: dict[str, Any]) -> None:
    report = access_report(Window(date(2026, 3, 4), date(2026, 3, 4)), dataset=history["cards"])
    assert [(r.grant_id, r.ended) for r in report.rows] == [(str(history["later"].pk), "active")]


def test_a_range_and_a_user_give_that_users_grants_in_the_range(history: dict[str, Any]) -> None:
    report = access_report(parse_window(None, "2026-02-01", "2026-03-31"), user=history["sam"])
    assert [r.grant_id for r in report.rows] == [str(history["sam_grant"].pk), str(history["later"].pk)]


FACT_ACTIONS = {
    "requested": "access_request.requested", "approved": "access_request.approval_recorded",
    "applied": "grant.applied", "expired": "grant.expired", "revoked": "grant.revoked", "removed": "grant.removed",
    "review": "review_item.revoked",
}  # fmt: skip


def test_the_csv_carries_the_audit_sequence_number_of_every_fact(history: dict[str, Any]) -> None:
    text = report_csv(access_report(Window(D, D), dataset=history["cards"]))
    lines = [line.split(",") for line in text.strip().splitlines()]
    assert lines[0][-1] == "audit_seq"
    grant_facts = [line for line in lines[1:] if line[0]]
    assert len(grant_facts) == 5 + 5 + 6  # sam (expired), olga (revoked), carl (review, revoked)
    for line in grant_facts:
        grant = Grant.objects.get(pk=line[0])
        event = AuditEvent.objects.get(seq=int(line[-1]))
        assert event.action == FACT_ACTIONS[line[5]]
        assert event.target_id in {str(grant.pk), str(grant.request_id), str(history["item"].pk)}
    approver_lines = [line for line in lines[1:] if not line[0]]
    assert [line[7] for line in approver_lines] == ["alex.approver", "nina.approver", "stella.steward"]


def test_only_auditors_catalog_admins_and_the_steward_may_read_the_report(
    history: dict[str, Any], client: Client
) -> None:
    url = "/api/v1/access-report?dataset=cards&on=2026-03-03"
    client.force_login(history["stella"])
    assert client.get(url).status_code == 200
    client.force_login(history["alex"])
    assert client.get(url).status_code == 404
    assert AuditEvent.objects.filter(action="access.denied", actor=history["alex"]).exists()
    client.force_login(history["sam"])
    assert client.get(url).status_code == 404


def test_the_api_rejects_unknown_parameters_and_bad_days(history: dict[str, Any], client: Client) -> None:
    client.force_login(make_user(username="aud.auditor", roles=["auditor"]))
    assert client.get("/api/v1/access-report?dataset=cards&on=2026-03-03&limit=5").status_code == 400
    assert client.get("/api/v1/access-report?dataset=cards&on=March").status_code == 400
    body = client.get("/api/v1/access-report?dataset=cards&on=2026-03-03").json()
    assert [g["requester"] for g in body["grants"]] == ["sam", "olga", "carl"]
    assert body["grants"][2]["ended"] == "removed by review"

"""Evidence packs: made by auditors (command or button), audited, and verified offline by the
standalone ``verify_pack.py`` in a Python where Django and the project cannot be imported."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from audit.actions import Action
from audit.anchoring.services import create_evidence_pack
from audit.models import AuditEvent
from audit.services import record

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 11, 20, tzinfo=UTC)
# Run the verifier the way an auditor would on their own machine: only the standard library and
# `cryptography` (with its compiled cffi backend) on the path; no site-packages, no project.
BOOTSTRAP = """
import importlib.util, runpy, sys
sys.path[:0] = [sys.argv.pop(1)]
for forbidden in ("django", "audit", "portal"):
    if importlib.util.find_spec(forbidden) is not None:
        raise SystemExit(f"{forbidden} is importable: not an offline check")
sys.argv = ["verify_pack.py", *sys.argv[1:]]
runpy.run_path("verify_pack.py", run_name="__main__")
"""


@pytest.fixture(scope="module")
def offline_lib(tmp_path_factory) -> Path:
    import cryptography

    site = Path(cryptography.__file__).resolve().parent.parent
    lib = tmp_path_factory.mktemp("offline-lib")
    for entry in [site / "cryptography", site / "cffi", *site.glob("_cffi_backend*")]:
        (lib / entry.name).symlink_to(entry)
    return lib


def verify_offline(pack: Path, lib: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Unpack verify_pack.py from the pack into a clean directory and run it on the pack."""
    workdir = pack.parent / f"verify-{pack.stem}"
    workdir.mkdir()
    with zipfile.ZipFile(pack) as archive:
        (workdir / "verify_pack.py").write_bytes(archive.read("verify_pack.py"))
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", BOOTSTRAP, str(lib), str(pack), *args],
        cwd=workdir, env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _at(moment: datetime, fn, *args, **kwargs):
    with time_machine.travel(moment, tick=False):
        return fn(*args, **kwargs)


@pytest.fixture
def history(scientist, other_scientist, anchors):
    """Events the day before, during and after DAY; dataset events for sam and olga."""
    from audit.anchoring.services import create_checkpoint

    def ws(actor, n):
        record(action=Action.WORKSPACE_REQUESTED, actor=actor, target=("workspaces.workspace", str(n), f"ws-{n}"))

    def access(actor, dataset):
        details = {"dataset": dataset, "requester": actor.username, "justification": "quarterly model"}
        record(action=Action.ACCESS_REQUEST_CREATED, actor=actor, target=("approvals.accessrequest", "1", "r"),
               details=details)  # fmt: skip

    _at(DAY - timedelta(hours=5), ws, scientist, 1)
    _at(DAY - timedelta(hours=4), create_checkpoint, via="test")
    _at(DAY - timedelta(hours=1), ws, other_scientist, 2)
    _at(DAY + timedelta(hours=2), access, scientist, "card-payments")
    _at(DAY + timedelta(hours=3), ws, scientist, 3)
    _at(DAY + timedelta(hours=3, minutes=1), create_checkpoint, via="test")
    _at(DAY + timedelta(hours=9), access, other_scientist, "card-payments")
    _at(DAY + timedelta(hours=10), access, other_scientist, "loans")
    _at(DAY + timedelta(days=1, hours=1), ws, other_scientist, 4)


def _pack(tmp_path: Path, *args: str, name: str = "pack.zip") -> tuple[Path, str]:
    out = tmp_path / name
    stdout = io.StringIO()
    call_command("audit", "evidence", "--since", DAY.date().isoformat(), "--until", DAY.date().isoformat(),
                 "--out", str(out), *args, stdout=stdout)  # fmt: skip
    return out, stdout.getvalue()


def _rewrite_member(pack: Path, member: str, change) -> Path:
    changed = pack.with_name(f"changed-{pack.name}")
    with zipfile.ZipFile(pack) as src, zipfile.ZipFile(changed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, change(data) if info.filename == member else data)
    return changed


def test_a_pack_is_verified_offline_where_django_cannot_be_imported(history, tmp_path, offline_lib):
    pack, said = _pack(tmp_path)

    result = verify_offline(pack, offline_lib)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("VERIFIED: evidence pack for 2026-11-20T00:00:00.000000Z – 2026-11-21T00:00:00")
    assert "(5 events, 5 matching the filter)" in result.stdout
    assert "starts with an event from before the period and ends at a signed checkpoint" in result.stdout
    assert "anchored: seq" in result.stdout
    assert "wrote" in said
    assert "anchored by checkpoint" in said


def test_the_same_pack_with_one_byte_changed_fails(history, tmp_path, offline_lib):
    pack, _ = _pack(tmp_path)
    changed = _rewrite_member(pack, "events.jsonl", lambda data: data.replace(b"ws-3", b"ws-8", 1))

    result = verify_offline(changed, offline_lib)

    assert result.returncode == 1
    assert "FAILED: events.jsonl: SHA-256 differs from the manifest" in result.stdout


def test_recomputing_the_manifest_after_a_change_breaks_its_signature(history, tmp_path, offline_lib):
    import hashlib

    pack, _ = _pack(tmp_path)
    with zipfile.ZipFile(pack) as archive:
        events = archive.read("events.jsonl").replace(b"quarterly model", b"quarterly modem", 1)
        manifest = json.loads(archive.read("manifest.json"))
    manifest["files"]["events.jsonl"] = hashlib.sha256(events).hexdigest()
    changed = _rewrite_member(pack, "events.jsonl", lambda _: events)
    changed = _rewrite_member(changed, "manifest.json", lambda _: json.dumps(manifest).encode())

    result = verify_offline(changed, offline_lib)

    assert result.returncode == 1
    assert "the manifest's signature is not valid" in result.stdout


def test_an_unsigned_manifest_over_a_forged_event_fails_at_the_event(history, tmp_path):
    """Without the seal, the chain itself catches the change (the verifier run in-process)."""
    from audit.anchoring import verify_pack

    pack, _ = _pack(tmp_path)
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(pack) as archive:
        archive.extractall(unpacked)
    events = unpacked / "events.jsonl"
    events.write_bytes(events.read_bytes().replace(b"quarterly model", b"quarterly modem", 1))
    with pytest.raises(verify_pack.Failure, match="content does not match its hash"):
        verify_pack.check_events(
            verify_pack.PackFiles(unpacked),
            json.loads((unpacked / "manifest.json").read_bytes()),
            verify_pack.load_checkpoints(
                verify_pack.PackFiles(unpacked), verify_pack.load_keys(verify_pack.PackFiles(unpacked))
            ),
        )


def test_a_filtered_pack_flags_the_matching_events_and_keeps_the_chain_whole(history, tmp_path, offline_lib):
    pack, _ = _pack(tmp_path, "--dataset", "card-payments", "--user", "olga.other")

    result = verify_offline(pack, offline_lib)

    assert result.returncode == 0, result.stdout
    assert "(filter: dataset=card-payments, user=olga.other)" in result.stdout
    assert "(5 events, 1 matching the filter)" in result.stdout
    with zipfile.ZipFile(pack) as archive:
        lines = [json.loads(line) for line in archive.read("events.jsonl").splitlines()]
    flagged = [e for e in lines if e["pack"]["matches"]]
    assert [(e["actor_label"], e["details"]["dataset"]) for e in flagged] == [("olga.other", "card-payments")]
    assert [e["seq"] for e in lines] == list(range(lines[0]["seq"], lines[-1]["seq"] + 1))
    assert lines[0]["pack"]["in_period"] is False
    assert lines[-1]["pack"]["in_period"] is False


def test_trusting_only_another_key_fails(history, tmp_path, offline_lib):
    pack, _ = _pack(tmp_path)
    result = verify_offline(pack, offline_lib, "--trust-key", "ab" * 16)
    assert result.returncode == 1
    assert "signed by keys you did not trust" in result.stdout


def test_making_a_pack_is_audited_with_its_manifest_digest(history, tmp_path):
    import hashlib

    pack, _ = _pack(tmp_path, "--dataset", "card-payments")

    event = AuditEvent.objects.filter(action=Action.AUDIT_EVIDENCE_PACK_CREATED).get()
    with zipfile.ZipFile(pack) as archive:
        manifest = archive.read("manifest.json")
    assert event.details["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert event.details["filter"] == {"dataset": "card-payments"}
    assert event.details["events"]["in_period"] == 5
    assert event.actor_label == "cli:manage.py audit evidence"


def test_a_period_without_events_is_refused(history, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No audit events were recorded in that period"):
        call_command("audit", "evidence", "--since", "2020-01-01", "--until", "2020-01-02",
                     "--out", str(tmp_path / "empty.zip"), stdout=io.StringIO())  # fmt: skip
    assert not (tmp_path / "empty.zip").exists()


def test_the_auditor_downloads_a_pack_from_the_page(client, auditor, history, tmp_path, offline_lib):
    client.force_login(auditor)
    day = DAY.date().isoformat()

    response = client.post(reverse("audit:evidence"), {"since": day, "until": day, "user": "sam.scientist"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="enclave-evidence-20261120-20261121.zip"'
    pack = tmp_path / "download.zip"
    pack.write_bytes(b"".join(response.streaming_content))
    result = verify_offline(pack, offline_lib)
    assert result.returncode == 0, result.stdout
    assert "(5 events, 2 matching the filter)" in result.stdout
    made = AuditEvent.objects.filter(action=Action.AUDIT_EVIDENCE_PACK_CREATED).get()
    assert made.actor_label == "aud.auditor"
    assert made.details["via"] == "page"


def test_the_evidence_button_is_for_auditors_only(client, catalog_admin, anchors):
    client.force_login(catalog_admin)
    response = client.post(reverse("audit:evidence"), {"since": "2026-11-20", "until": "2026-11-20"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_label="cara.admin").exists()
    assert not AuditEvent.objects.filter(action=Action.AUDIT_EVIDENCE_PACK_CREATED).exists()


def test_the_evidence_button_needs_a_csrf_token(auditor, anchors):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(auditor)
    response = client.post(reverse("audit:evidence"), {"since": "2026-11-20", "until": "2026-11-20"})
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=Action.AUDIT_EVIDENCE_PACK_CREATED).exists()


def test_the_service_refuses_non_auditors(catalog_admin, anchors):
    from core.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        create_evidence_pack(actor=catalog_admin, since=DAY, until=DAY + timedelta(days=1), out=io.BytesIO(),
                             via="test")  # fmt: skip

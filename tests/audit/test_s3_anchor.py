"""Checkpoints in S3 with Object Lock, against the AWS stand-in: they land with compliance-mode
retention, and nothing — overwrite, delete, weakened retention — takes them back."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from django.core.management import call_command

from audit.actions import Action
from audit.anchoring.documents import checkpoint_name
from audit.anchoring.services import create_checkpoint
from audit.anchoring.sinks import AnchorExists, S3ObjectLockSink, get_sink
from audit.anchoring.verify import verify_anchored
from audit.services import record

pytestmark = pytest.mark.django_db
BUCKET = "enclave-audit-anchors"
PREFIX = "trail/"


@pytest.fixture
def s3_anchors(settings, clean_aws, signing_key) -> S3ObjectLockSink:
    settings.ENCLAVE_AUDIT_ANCHOR_SINK = "s3"
    settings.ENCLAVE_AUDIT_ANCHOR_BUCKET = BUCKET
    settings.ENCLAVE_AUDIT_ANCHOR_PREFIX = PREFIX
    settings.ENCLAVE_AUDIT_ANCHOR_RETENTION_DAYS = 30
    settings.ENCLAVE_AUDIT_ANCHOR_CREATE_BUCKET = True
    settings.ENCLAVE_AUDIT_SIGNING_KEY = signing_key
    sink = get_sink()
    assert isinstance(sink, S3ObjectLockSink)
    return sink


def _checkpointed(actor) -> str:
    record(action=Action.WORKSPACE_REQUESTED, actor=actor, target=("workspaces.workspace", "1", "ws-1"))
    outcome = create_checkpoint(via="test")
    assert outcome.status == "written"
    return PREFIX + checkpoint_name(1)


def test_checkpoints_land_in_the_bucket_under_compliance_mode_retention(scientist, s3_anchors, clean_aws):
    key = _checkpointed(scientist)
    s3 = clean_aws.client("s3")

    head = s3.head_object(Bucket=BUCKET, Key=key)
    keys = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "keys/")["Contents"]

    assert head["ObjectLockMode"] == "COMPLIANCE"
    retain_until = head["ObjectLockRetainUntilDate"]
    assert datetime.now(UTC) + timedelta(days=29) < retain_until < datetime.now(UTC) + timedelta(days=31)
    assert s3.get_object_lock_configuration(Bucket=BUCKET)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    assert s3.head_object(Bucket=BUCKET, Key=keys[0]["Key"])["ObjectLockMode"] == "COMPLIANCE"
    assert verify_anchored().ok


def test_a_conditional_overwrite_is_refused(scientist, s3_anchors, clean_aws):
    key = _checkpointed(scientist)
    with pytest.raises(ClientError) as refused:
        clean_aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"{}", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(AnchorExists):
        s3_anchors.put(checkpoint_name(1), b"{}")


def test_deleting_the_locked_version_is_refused(scientist, s3_anchors, clean_aws):
    key = _checkpointed(scientist)
    s3 = clean_aws.client("s3")
    version = s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"][0]["VersionId"]

    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version)

    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert s3.get_object(Bucket=BUCKET, Key=key, VersionId=version)["Body"].read().startswith(b'{"body":')


def test_a_plain_overwrite_or_delete_marker_leaves_the_original_which_verification_still_reads(
    scientist, s3_anchors, clean_aws
):
    key = _checkpointed(scientist)
    s3 = clean_aws.client("s3")
    s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"forged": true}')  # a new version beside the locked one
    s3.delete_object(Bucket=BUCKET, Key=key)  # only a delete marker

    result = verify_anchored()

    assert result.consistent_with is not None
    assert result.consistent_with.number == 1
    assert result.problems == (
        f"{checkpoint_name(1)}: 1 later version(s) written over the locked original (ignored: the original is used)",
    )
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("audit", "verify", stdout=out, stderr=out)
    assert "later version(s) written over the locked original" in out.getvalue()


@pytest.mark.parametrize(
    ("mode", "days", "complaint"),
    [("COMPLIANCE", 1, "cannot be shortened"), ("GOVERNANCE", 60, "cannot change from COMPLIANCE to GOVERNANCE")],
    ids=["shorten", "weaken-mode"],
)
def test_weakening_the_retention_is_refused_even_with_the_governance_bypass(
    scientist, s3_anchors, clean_aws, mode, days, complaint
):
    key = _checkpointed(scientist)
    s3 = clean_aws.client("s3")
    with pytest.raises(ClientError) as refused:
        s3.put_object_retention(
            Bucket=BUCKET, Key=key, BypassGovernanceRetention=True,
            Retention={"Mode": mode, "RetainUntilDate": datetime.now(UTC) + timedelta(days=days)},
        )  # fmt: skip
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert complaint in refused.value.response["Error"]["Message"]
    assert s3.head_object(Bucket=BUCKET, Key=key)["ObjectLockMode"] == "COMPLIANCE"


def test_extending_the_retention_is_allowed(scientist, s3_anchors, clean_aws):
    key = _checkpointed(scientist)
    s3 = clean_aws.client("s3")
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=400)
    s3.put_object_retention(Bucket=BUCKET, Key=key, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})
    assert s3.head_object(Bucket=BUCKET, Key=key)["ObjectLockRetainUntilDate"] == later

"""The IAM policy documents of a workspace's execution role: its trust, its base rights and its data grants.

Pure functions of their arguments (no AWS calls), so what a role may do can be read and tested here.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from workspaces.backends.base import DataGrantSpec, InvalidCloudRequest

BASE_POLICY_NAME = "enclave-base"
GRANT_POLICY_PREFIX = "enclave-grant-"
NOTEBOOK_LOG_GROUP = "/aws/sagemaker/NotebookInstances"


def trust_policy_document() -> dict[str, Any]:
    """Only SageMaker may assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }


def base_policy_document(name: str, kms_key_id: str, *, partition: str, account: str, region: str) -> dict[str, Any]:
    """Least privilege for a notebook: its own logs, its template's key, and stopping itself when idle."""
    key_arn = kms_key_id
    if not key_arn.startswith("arn:"):
        key_arn = f"arn:{partition}:kms:{region}:{account}:key/{kms_key_id}"
    log_group = f"arn:{partition}:logs:{region}:{account}:log-group:{NOTEBOOK_LOG_GROUP}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NotebookLogs",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                "Resource": [log_group, f"{log_group}:log-stream:{name}/*"],
            },
            {
                "Sid": "TemplateKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": key_arn,
            },
            {
                "Sid": "IdleAutoStop",
                "Effect": "Allow",
                "Action": ["sagemaker:DescribeNotebookInstance", "sagemaker:StopNotebookInstance"],
                "Resource": f"arn:{partition}:sagemaker:{region}:{account}:notebook-instance/{name.lower()}",
            },
        ],
    }


def grant_policy_document(grant: DataGrantSpec, *, partition: str) -> dict[str, Any]:
    """Read-only access to one dataset prefix, valid only while ``aws:CurrentTime`` is before the expiry.

    The time condition makes AWS itself enforce the end of the grant even if the revoking task is late.
    """
    if not grant.location.startswith("s3://"):
        raise InvalidCloudRequest(f"Dataset {grant.dataset_slug} is not an S3 location ({grant.location}).")
    bucket, _, prefix = grant.location.removeprefix("s3://").partition("/")
    if not bucket:
        raise InvalidCloudRequest(f"Dataset {grant.dataset_slug} has no S3 bucket in its location.")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if grant.expires_at.tzinfo is None:
        raise ValueError("DataGrantSpec.expires_at must be timezone-aware")
    until = {"DateLessThan": {"aws:CurrentTime": grant.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadDatasetObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:{partition}:s3:::{bucket}/{prefix}*"],
                "Condition": until,
            },
            {
                "Sid": "ListDatasetPrefix",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:{partition}:s3:::{bucket}"],
                "Condition": {**until, "StringLike": {"s3:prefix": [f"{prefix}*"]}},
            },
        ],
    }

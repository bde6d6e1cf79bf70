"""AWS resources the stand-in must hold before a workspace can be built: today, the permissions boundary.

Real IAM refuses to create a role fenced by a boundary policy that does not exist, and so does the
stand-in; the demo catalog's SageMaker templates name ``enclave-workspace-boundary`` (see
``catalog/demo.py``), so ``python -m devtools.moto_stand_in --seed-demo`` creates it, and the test
fixtures create it with :func:`create_boundary_policy` too.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from botocore.exceptions import ClientError

BOUNDARY_POLICY_NAME = "enclave-workspace-boundary"

# The most a workspace role may ever do, whatever policies it is given: read data, write its logs, use
# keys, and describe or stop notebooks (its own idle auto-stop). Grants and the base policy narrow it.
BOUNDARY_DOCUMENT: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket", "logs:*", "kms:*"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["sagemaker:Describe*", "sagemaker:Stop*"], "Resource": "*"},
    ],
}


def create_boundary_policy(iam: Any, name: str = BOUNDARY_POLICY_NAME) -> str:
    """Create the boundary policy ``name`` (or find the one already there) and return its ARN."""
    try:
        return str(iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(BOUNDARY_DOCUMENT))["Policy"]["Arn"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "EntityAlreadyExists":
            raise
    for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
        for policy in page.get("Policies", []):
            if policy["PolicyName"] == name:
                return str(policy["Arn"])
    raise LookupError(f"IAM says policy {name} exists but does not list it")


def seed_demo(url: str, region: str = "eu-west-1") -> list[str]:
    """Create the demo's AWS resources in the stand-in at ``url``, with the credentials the portal will use
    (the environment's, else the stand-in's dummy ones), so they land in the account the portal sees.
    """
    from devtools.moto_stand_in import DUMMY_CREDENTIALS

    iam = boto3.client(
        "iam",
        region_name=os.environ.get("AWS_REGION") or region,
        endpoint_url=url,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID") or DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY") or DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    return [create_boundary_policy(iam)]

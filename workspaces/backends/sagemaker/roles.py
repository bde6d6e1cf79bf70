"""A workspace's execution role in IAM: created fenced by the template's permissions boundary, carrying the
base policy and one inline policy per data grant, and deleted with every policy on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from workspaces.backends.base import CloudError, InvalidCloudRequest
from workspaces.backends.sagemaker.clients import AwsClients
from workspaces.backends.sagemaker.errors import aws_errors, aws_message, error_code
from workspaces.backends.sagemaker.policies import BASE_POLICY_NAME, base_policy_document, trust_policy_document


@contextmanager
def _missing_boundary(boundary: str) -> Iterator[None]:
    """IAM's refusal of a boundary policy that does not exist, as an error the catalog admin can act on."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) != "NoSuchEntity" or boundary not in aws_message(exc):
            raise
        raise InvalidCloudRequest(
            f"The template's IAM permissions boundary policy {boundary} does not exist in this AWS account (or "
            "cannot be attached), so AWS refused to create the workspace's execution role. A catalog admin must "
            f"create that policy or correct the template. AWS said: {aws_message(exc)}",
            provider_code="NoSuchEntity",
        ) from exc


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


class ExecutionRoles:
    """IAM calls on workspace execution roles (every call under ``aws_errors``)."""

    def __init__(self, aws: AwsClients) -> None:
        self._aws = aws

    def ensure(self, role_name: str, name: str, hardening: Mapping[str, Any], tags: Mapping[str, str]) -> str:
        """The workspace's execution role: trusted by SageMaker only, fenced by the permissions boundary.

        A boundary policy that does not exist (or cannot be attached) is refused by IAM with ``NoSuchEntity``;
        that becomes an ``InvalidCloudRequest`` naming the policy, since only the template can fix it.
        """
        iam = self._aws.iam
        boundary = hardening["permissions_boundary_arn"]
        with aws_errors("create the workspace's execution role"), _missing_boundary(boundary):
            try:
                role = iam.create_role(
                    RoleName=role_name,
                    AssumeRolePolicyDocument=json.dumps(trust_policy_document()),
                    Description=f"Enclave workspace {name}: notebook execution role",
                    PermissionsBoundary=boundary,
                    Tags=tag_list(tags),
                )["Role"]
            except ClientError as exc:
                if error_code(exc) != "EntityAlreadyExists":
                    raise
                role = iam.get_role(RoleName=role_name)["Role"]
                if role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") != boundary:
                    iam.put_role_permissions_boundary(RoleName=role_name, PermissionsBoundary=boundary)
        with aws_errors("give the workspace's execution role its base policy"):
            partition, account = self._aws.account()
            base = base_policy_document(
                name, hardening["kms_key_id"], partition=partition, account=account, region=self._aws.region
            )
            iam.put_role_policy(RoleName=role_name, PolicyName=BASE_POLICY_NAME, PolicyDocument=json.dumps(base))
        return str(role["Arn"])

    def policy_exists(self, arn: str) -> bool | None:
        """Whether IAM has an attachable managed policy ``arn``; ``None`` when it cannot tell (no permission to
        read policies, throttled, unreachable)."""
        try:
            with aws_errors("look up the permissions boundary policy"):
                try:
                    policy = self._aws.iam.get_policy(PolicyArn=arn)["Policy"]
                except ClientError as exc:
                    if error_code(exc) in ("NoSuchEntity", "InvalidInput", "ValidationError"):
                        return False
                    raise
        except CloudError:
            return None
        return bool(policy.get("IsAttachable", True))

    def delete(self, role_name: str) -> None:
        """Delete the role and every policy on it; whatever is already gone is skipped."""
        iam = self._aws.iam

        def ignore_missing(call: Any, **kwargs: Any) -> Any:
            try:
                return call(**kwargs)
            except ClientError as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise
                return None

        with aws_errors("delete the workspace's execution role"):
            for page in self._paginate_or_empty("list_role_policies", RoleName=role_name):
                for policy_name in page.get("PolicyNames", []):
                    ignore_missing(iam.delete_role_policy, RoleName=role_name, PolicyName=policy_name)
            for page in self._paginate_or_empty("list_attached_role_policies", RoleName=role_name):
                for policy in page.get("AttachedPolicies", []):
                    ignore_missing(iam.detach_role_policy, RoleName=role_name, PolicyArn=policy["PolicyArn"])
            ignore_missing(iam.delete_role, RoleName=role_name)

    def _paginate_or_empty(self, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        try:
            yield from self._aws.iam.get_paginator(operation).paginate(**kwargs)
        except ClientError as exc:
            if error_code(exc) != "NoSuchEntity":
                raise

    def put_policy(self, role_name: str, policy_name: str, document: Mapping[str, Any], doing: str) -> None:
        """Put an inline policy on the role (an upsert, so repeating it is harmless)."""
        with aws_errors(doing):
            self._aws.iam.put_role_policy(
                RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
            )

    def delete_policy(self, role_name: str, policy_name: str, doing: str) -> None:
        """Delete an inline policy from the role; a no-op if the policy or the role is already gone."""
        with aws_errors(doing):
            try:
                self._aws.iam.delete_role_policy(RoleName=role_name, PolicyName=policy_name)
            except ClientError as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise

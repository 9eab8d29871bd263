"""Secrets Manager secrets: rotation, KMS key, resource policy. Secret values are never read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.aws.support import iso, json_safe, known, optional, parse_policy, public_statements, tags_from_list
from harvesters.base import ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext


@resource_type(
    "aws.secretsmanager.secret",
    resource_type="secret",
    service="secretsmanager",
    interval_minutes=60,
    permissions=("secretsmanager:ListSecrets", "secretsmanager:GetResourcePolicy"),
)
def collect_secrets(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """Secrets Manager secrets (metadata only): rotation enabled and its schedule, last rotation, KMS key,
    resource policy."""
    client = ctx.client("secretsmanager", region)
    for page in client.get_paginator("list_secrets").paginate():
        for secret in page.get("SecretList", []):
            arn = secret["ARN"]
            policy_response = optional(
                lambda arn=arn: client.get_resource_policy(SecretId=arn),
                absent=("ResourceNotFoundException",),
                what="GetResourcePolicy",
            )
            policy = parse_policy((known(policy_response) or {}).get("ResourcePolicy"))
            rules = secret.get("RotationRules") or {}
            properties = {
                "rotation_enabled": bool(secret.get("RotationEnabled")),
                "last_rotated_at": iso(secret.get("LastRotatedDate")),
                "kms_key_id": secret.get("KmsKeyId"),  # None: the AWS-managed aws/secretsmanager key
                # AWS specifics
                "rotation_interval_days": rules.get("AutomaticallyAfterDays"),
                "rotation_schedule": rules.get("ScheduleExpression"),
                "rotation_lambda": secret.get("RotationLambdaARN"),
                "policy": policy,
                "public": bool(public_statements(policy)),
                "replicated_to": sorted(
                    r.get("Region") for r in secret.get("ReplicationStatus", []) if r.get("Region")
                ),
                "deleted_at": iso(secret.get("DeletedDate")),
                "created_at": iso(secret.get("CreatedDate")),
            }
            raw = json_safe(secret)
            raw.pop("LastAccessedDate", None)  # changes with use, not with configuration
            raw["ResourcePolicy"] = policy
            yield ResourceRecord(
                resource_type="secret",
                native_type="aws.secretsmanager.secret",
                region=region,
                native_id=arn,
                name=secret.get("Name") or arn,
                properties=properties,
                raw=raw,
                tags=tags_from_list(secret.get("Tags")),
            )

"""DynamoDB tables: encryption at rest (and with which key) and point-in-time recovery."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.aws.support import UNAVAILABLE, iso, json_safe, known, optional, tags_from_list
from harvesters.base import ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext

# Sizes and counts move with the data, not the configuration.
_VOLATILE = {"ItemCount", "TableSizeBytes"}


@resource_type(
    "aws.dynamodb.table",
    resource_type="nosql_table",
    service="dynamodb",
    interval_minutes=30,
    permissions=(
        "dynamodb:ListTables",
        "dynamodb:DescribeTable",
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:ListTagsOfResource",
    ),
)
def collect_tables(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """DynamoDB tables: encryption (AWS-owned, AWS-managed or customer KMS key), point-in-time recovery,
    deletion protection, billing mode."""
    dynamodb = ctx.client("dynamodb", region)
    for page in dynamodb.get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            try:
                table = dynamodb.describe_table(TableName=name)["Table"]
            except dynamodb.exceptions.ResourceNotFoundException:
                continue  # deleted between the listing and now
            arn = table["TableArn"]
            backups = optional(
                lambda name=name: dynamodb.describe_continuous_backups(TableName=name),
                what="DescribeContinuousBackups",
            )
            tags = optional(lambda arn=arn: dynamodb.list_tags_of_resource(ResourceArn=arn), what="ListTagsOfResource")
            pitr = (
                (known(backups) or {}).get("ContinuousBackupsDescription", {}).get("PointInTimeRecoveryDescription", {})
            )
            sse = table.get("SSEDescription") or {}
            properties = {
                # DynamoDB always encrypts at rest; without an SSEDescription the key is AWS-owned.
                "encrypted": True,
                "point_in_time_recovery": None
                if backups is UNAVAILABLE
                else pitr.get("PointInTimeRecoveryStatus") == "ENABLED",
                # AWS specifics
                "encryption_type": sse.get("SSEType") or "AWS_OWNED",
                "kms_key_id": sse.get("KMSMasterKeyArn"),
                "deletion_protection": table.get("DeletionProtectionEnabled"),
                "billing_mode": (table.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED",
                "status": table.get("TableStatus"),
                "stream_enabled": (table.get("StreamSpecification") or {}).get("StreamEnabled", False),
                "global_table_replicas": sorted(r.get("RegionName") for r in table.get("Replicas", [])),
                "created_at": iso(table.get("CreationDateTime")),
            }
            raw = {key: value for key, value in table.items() if key not in _VOLATILE}
            raw["PointInTimeRecovery"] = pitr
            yield ResourceRecord(
                resource_type="nosql_table",
                native_type="aws.dynamodb.table",
                region=region,
                native_id=arn,
                name=name,
                properties=properties,
                raw=json_safe(raw),
                tags=tags_from_list((known(tags) or {}).get("Tags")),
            )

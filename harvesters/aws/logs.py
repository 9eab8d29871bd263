"""CloudWatch Logs log groups: retention and KMS encryption."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.aws.support import iso, json_safe, known, optional
from harvesters.base import ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext

# storedBytes grows with every log line; it is not configuration.
_VOLATILE = {"storedBytes", "metricFilterCount"}


def _from_epoch_ms(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)


@resource_type(
    "aws.logs.log_group",
    resource_type="log_group",
    service="logs",
    interval_minutes=60,
    permissions=("logs:DescribeLogGroups", "logs:ListTagsForResource"),
)
def collect_log_groups(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """CloudWatch Logs log groups: retention in days (None = never expire), KMS key, log class."""
    logs = ctx.client("logs", region)
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page.get("logGroups", []):
            name = group["logGroupName"]
            # DescribeLogGroups' arn ends with ":*"; the tagging API wants it without.
            arn = group.get("logGroupArn") or group.get("arn", "").removesuffix(":*")
            tags = optional(lambda arn=arn: logs.list_tags_for_resource(resourceArn=arn), what="ListTagsForResource")
            properties = {
                "retention_days": group.get("retentionInDays"),
                "kms_key_id": group.get("kmsKeyId"),
                # AWS specifics
                "never_expires": group.get("retentionInDays") is None,
                "log_class": group.get("logGroupClass"),
                "data_protection": group.get("dataProtectionStatus"),
                "created_at": iso(_from_epoch_ms(group["creationTime"])) if group.get("creationTime") else None,
            }
            raw = {key: value for key, value in group.items() if key not in _VOLATILE}
            yield ResourceRecord(
                resource_type="log_group",
                native_type="aws.logs.log_group",
                region=region,
                native_id=arn or name,
                name=name,
                properties=properties,
                raw=json_safe(raw),
                tags=dict((known(tags) or {}).get("tags") or {}),
            )

"""CloudTrail trails: multi-region, logging on, log file validation, KMS encryption.

A multi-region trail shows up in every region as a "shadow"; each trail is harvested once, in
its home region (``includeShadowTrails=False``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.aws.support import UNAVAILABLE, iso, json_safe, known, optional, tags_from_list
from harvesters.base import ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext


def management_events(selectors: dict | None) -> str | None:
    """ "All", "ReadOnly", "WriteOnly" or "None": which management events the trail records."""
    if not selectors:
        return None
    if selectors.get("AdvancedEventSelectors"):
        for selector in selectors["AdvancedEventSelectors"]:
            fields = {f.get("Field"): f for f in selector.get("FieldSelectors", [])}
            if "Management" in (fields.get("eventCategory") or {}).get("Equals", []):
                read_only = (fields.get("readOnly") or {}).get("Equals")
                if not read_only:
                    return "All"
                return "ReadOnly" if read_only == ["true"] else "WriteOnly"
        return "None"
    kinds = {s.get("ReadWriteType") for s in selectors.get("EventSelectors", []) if s.get("IncludeManagementEvents")}
    if "All" in kinds or {"ReadOnly", "WriteOnly"} <= kinds:
        return "All"
    return kinds.pop() if kinds else "None"


@resource_type(
    "aws.cloudtrail.trail",
    resource_type="api_accounting_config",
    service="cloudtrail",
    interval_minutes=60,
    permissions=(
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors",
        "cloudtrail:ListTags",
    ),
)
def collect_trails(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """CloudTrail trails whose home is this region: multi-region, logging status, log file validation, KMS key,
    management events recorded, S3 bucket and CloudWatch Logs delivery."""
    trail_client = ctx.client("cloudtrail", region)
    # DescribeTrails is not paginated (at most a handful of trails per region).
    for trail in trail_client.describe_trails(includeShadowTrails=False).get("trailList", []):
        if trail.get("HomeRegion") not in (None, region):
            continue
        arn = trail.get("TrailARN") or trail["Name"]
        status = optional(lambda arn=arn: trail_client.get_trail_status(Name=arn), what="GetTrailStatus")
        selectors = optional(lambda arn=arn: trail_client.get_event_selectors(TrailName=arn), what="GetEventSelectors")
        tags = optional(lambda arn=arn: trail_client.list_tags(ResourceIdList=[arn]), what="ListTags")
        tag_list = next(iter((known(tags) or {}).get("ResourceTagList", [])), {}).get("TagsList")
        status = known(status)
        properties = {
            "multi_region": bool(trail.get("IsMultiRegionTrail")),
            "logging": bool(status.get("IsLogging")) if status is not None else None,
            "log_file_validation": trail.get("LogFileValidationEnabled"),
            "kms_key_id": trail.get("KmsKeyId"),
            # AWS specifics
            "include_global_service_events": trail.get("IncludeGlobalServiceEvents"),
            "organization_trail": trail.get("IsOrganizationTrail"),
            "s3_bucket": trail.get("S3BucketName"),
            "cloudwatch_log_group": trail.get("CloudWatchLogsLogGroupArn"),
            "management_events": None if selectors is UNAVAILABLE else management_events(selectors),
            "latest_delivery_error": (status or {}).get("LatestDeliveryError") or None,
        }
        raw = json_safe(trail)
        raw["IsLogging"] = properties["logging"]
        raw["EventSelectors"] = json_safe(
            {k: v for k, v in (known(selectors) or {}).items() if k.endswith("EventSelectors")}
        )
        raw["StartLoggingTime"] = iso((status or {}).get("StartLoggingTime"))
        yield ResourceRecord(
            resource_type="api_accounting_config",
            native_type="aws.cloudtrail.trail",
            region=region,
            native_id=arn,
            name=trail["Name"],
            properties=properties,
            raw=raw,
            tags=tags_from_list(tag_list),
        )

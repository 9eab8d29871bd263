"""ActionTrail trails: which regions they cover and whether they are logging."""

from __future__ import annotations

from collections.abc import Iterator

from harvesters.alibaba.common import classified, iso, truthy
from harvesters.alibaba.driver import AlibabaContext, rpc
from harvesters.base import ResourceRecord, resource_type


@resource_type(
    "alibaba.actiontrail.trail",
    resource_type="api_accounting_config",
    service="actiontrail",
    permissions=("actiontrail:DescribeTrails", "actiontrail:GetTrailStatus"),
    interval_minutes=60,
)
@classified
def collect_trails(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """ActionTrail trails homed in the region: all-regions coverage, logging status, destinations."""
    # Shadow copies of multi-region trails would list one trail once per region.
    body = ctx.call(rpc("actiontrail", "DescribeTrails")(), region, IncludeShadowTrails="false")
    for trail in body.get("TrailList") or []:
        status = ctx.call(rpc("actiontrail", "GetTrailStatus")(), region, Name=trail["Name"])
        properties = {
            "multi_region": str(trail.get("TrailRegion", "")).lower() == "all",
            "logging": truthy(status.get("IsLogging")),
            "log_file_validation": None,
            "kms_key_id": None,
            "event_rw": trail.get("EventRW"),
            "oss_bucket": trail.get("OssBucketName") or None,
            "sls_project_arn": trail.get("SlsProjectArn") or None,
            "organization_trail": truthy(trail.get("IsOrganizationTrail")),
            "latest_delivery_at": iso(status.get("LatestDeliveryTime")),
        }
        yield ResourceRecord(
            resource_type="api_accounting_config",
            native_type="alibaba.actiontrail.trail",
            region=region,
            native_id=f"acs:actiontrail:{region}:{ctx.account_id}:trail/{trail['Name']}",
            name=trail["Name"],
            properties=properties,
            raw={**trail, "Status": status},
        )

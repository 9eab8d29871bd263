"""Route 53 hosted zones (a global service)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from harvesters.aws.support import UNAVAILABLE, global_region, json_safe, known, optional, tags_from_list
from harvesters.base import GLOBAL, ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext


def _query_logged_zones(route53: Any) -> set[str]:
    """Ids of the zones with DNS query logging: one listing for all zones rather than one call per zone."""
    zones: set[str] = set()
    for page in route53.get_paginator("list_query_logging_configs").paginate():
        zones.update(config["HostedZoneId"].rsplit("/", 1)[-1] for config in page.get("QueryLoggingConfigs", []))
    return zones


@resource_type(
    "aws.route53.hosted_zone",
    resource_type="dns_zone",
    service="route53",
    scope="global",
    interval_minutes=60,
    permissions=("route53:ListHostedZones", "route53:ListTagsForResource", "route53:ListQueryLoggingConfigs"),
)
def collect_hosted_zones(ctx: AwsContext, region: str = GLOBAL) -> Iterator[ResourceRecord]:
    """Route 53 hosted zones: public or private, record count, query logging."""
    route53 = ctx.client("route53", global_region(ctx))
    logged_zones = optional(lambda: _query_logged_zones(route53), what="ListQueryLoggingConfigs")
    for page in route53.get_paginator("list_hosted_zones").paginate():
        for zone in page.get("HostedZones", []):
            zone_id = zone["Id"].rsplit("/", 1)[-1]
            tags = optional(
                lambda zone_id=zone_id: route53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id),
                what="ListTagsForResource",
            )
            private = bool((zone.get("Config") or {}).get("PrivateZone"))
            properties = {
                "private": private,
                "record_count": zone.get("ResourceRecordSetCount"),
                # AWS specifics
                "zone_id": zone_id,
                "domain": zone.get("Name", "").rstrip("."),
                "comment": (zone.get("Config") or {}).get("Comment") or None,
                "query_logging_enabled": None if logged_zones is UNAVAILABLE else zone_id in logged_zones,
            }
            yield ResourceRecord(
                resource_type="dns_zone",
                native_type="aws.route53.hosted_zone",
                region=GLOBAL,
                native_id=f"arn:{ctx.partition}:route53:::hostedzone/{zone_id}",
                name=zone.get("Name", zone_id).rstrip("."),
                properties=properties,
                raw=json_safe(zone),
                tags=tags_from_list((known(tags) or {}).get("ResourceTagSet", {}).get("Tags")),
            )

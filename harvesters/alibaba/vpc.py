"""VPC: networks (VPCs) and subnets (vSwitches), with their flow logs."""

from __future__ import annotations

from collections.abc import Iterator

from harvesters.alibaba.common import classified, iso, listed, tags_of, truthy
from harvesters.alibaba.driver import AlibabaContext, pages_by_number, rpc
from harvesters.base import ResourceRecord, resource_type


def active_flow_logs(ctx: AlibabaContext, region: str) -> set[str]:
    """Ids of the VPCs, vSwitches and ENIs that have an active flow log in ``region``."""
    active = set()
    for page in pages_by_number(ctx, rpc("vpc", "DescribeFlowLogs"), region, ("FlowLogs", "FlowLog")):
        for log in page:
            if str(log.get("Status", "")).lower() == "active":
                active.add(log.get("ResourceId"))
    return active


@resource_type(
    "alibaba.vpc.vpc",
    resource_type="network",
    service="vpc",
    permissions=("vpc:DescribeVpcs", "vpc:DescribeFlowLogs"),
    interval_minutes=60,
)
@classified
def collect_vpcs(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """VPCs with their CIDR blocks, default flag and whether a flow log is active on them."""
    flow_logs = active_flow_logs(ctx, region)
    for page in pages_by_number(ctx, rpc("vpc", "DescribeVpcs"), region, ("Vpcs", "Vpc")):
        for vpc in page:
            cidrs = [vpc["CidrBlock"]] if vpc.get("CidrBlock") else []
            cidrs += listed(vpc.get("SecondaryCidrBlocks"), "SecondaryCidrBlock")
            if vpc.get("Ipv6CidrBlock"):
                cidrs.append(vpc["Ipv6CidrBlock"])
            yield ResourceRecord(
                resource_type="network",
                native_type="alibaba.vpc.vpc",
                region=region,
                native_id=vpc["VpcId"],
                name=vpc.get("VpcName") or vpc["VpcId"],
                properties={
                    "cidr_blocks": cidrs,
                    "is_default": truthy(vpc.get("IsDefault")),
                    "flow_logs_enabled": vpc["VpcId"] in flow_logs,
                    "status": vpc.get("Status"),
                    "created_at": iso(vpc.get("CreationTime")),
                },
                raw=vpc,
                tags=tags_of(vpc),
            )


@resource_type(
    "alibaba.vpc.vswitch",
    resource_type="subnet",
    service="vpc",
    permissions=("vpc:DescribeVSwitches", "vpc:DescribeFlowLogs"),
    interval_minutes=60,
)
@classified
def collect_vswitches(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """vSwitches (subnets) with their VPC, CIDR block and flow logs (their own or their VPC's)."""
    flow_logs = active_flow_logs(ctx, region)
    for page in pages_by_number(ctx, rpc("vpc", "DescribeVSwitches"), region, ("VSwitches", "VSwitch")):
        for vswitch in page:
            yield ResourceRecord(
                resource_type="subnet",
                native_type="alibaba.vpc.vswitch",
                region=region,
                native_id=vswitch["VSwitchId"],
                name=vswitch.get("VSwitchName") or vswitch["VSwitchId"],
                properties={
                    "network_id": vswitch.get("VpcId") or None,
                    "cidr_block": vswitch.get("CidrBlock") or None,
                    # Public IPs are chosen per instance on Alibaba, never per vSwitch.
                    "maps_public_ip_on_launch": False,
                    "flow_logs_enabled": vswitch["VSwitchId"] in flow_logs or vswitch.get("VpcId") in flow_logs,
                    "private_access_enabled": None,
                    "zone": vswitch.get("ZoneId"),
                },
                raw=vswitch,
                tags=tags_of(vswitch),
            )

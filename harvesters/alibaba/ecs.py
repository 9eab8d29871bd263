"""ECS: regions, instances, security groups and their rules, disks, snapshots."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from harvesters.alibaba.common import classified, iso, listed, tags_of, truthy
from harvesters.alibaba.driver import AlibabaContext, list_regions, pages_by_number, pages_by_token, rpc
from harvesters.base import GLOBAL, ResourceRecord, resource_type

_INSTANCE_STATES = {
    "running": "running",
    "stopped": "stopped",
    "starting": "pending",
    "pending": "pending",
    "stopping": "stopping",
    "deleted": "terminated",
}


@resource_type(
    "alibaba.ecs.region",
    resource_type="region",
    service="ecs",
    scope="global",
    permissions=("ecs:DescribeRegions",),
    interval_minutes=1440,
)
@classified
def collect_regions(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """The regions the account can use (ECS DescribeRegions), available or not."""
    for item in list_regions(ctx):
        yield ResourceRecord(
            resource_type="region",
            native_type="alibaba.ecs.region",
            region=GLOBAL,
            native_id=item["RegionId"],
            name=item.get("LocalName") or item["RegionId"],
            properties={
                "enabled": item.get("Status", "available") == "available",
                "endpoint": item.get("RegionEndpoint"),
            },
            raw=item,
        )


def _ram_roles(ctx: AlibabaContext, region: str, instance_ids: list[str]) -> dict[str, str]:
    """Instance id -> attached RAM role name, one call per page of instances."""
    if not instance_ids:
        return {}
    body = ctx.call(rpc("ecs", "DescribeInstanceRamRole")(), region, InstanceIds=json.dumps(instance_ids))
    sets = listed(body.get("InstanceRamRoleSets"), "InstanceRamRoleSet")
    return {item["InstanceId"]: item["RamRoleName"] for item in sets if item.get("RamRoleName")}


def instance_record(item: dict, region: str, role: str | None) -> ResourceRecord:
    vpc = item.get("VpcAttributes") or {}
    public_ips = listed(item.get("PublicIpAddress"), "IpAddress")
    eip = (item.get("EipAddress") or {}).get("IpAddress")
    if eip:
        public_ips.append(eip)
    private_ips = listed(vpc.get("PrivateIpAddress"), "IpAddress") + listed(item.get("InnerIpAddress"), "IpAddress")
    metadata = item.get("MetadataOptions") or {}
    properties = {
        "state": _INSTANCE_STATES.get(str(item.get("Status", "")).lower(), "unknown"),
        "instance_type": item.get("InstanceType", ""),
        "image_id": item.get("ImageId") or None,
        "public_ips": public_ips,
        "private_ips": private_ips,
        "has_public_ip": bool(public_ips),
        "security_groups": listed(item.get("SecurityGroupIds"), "SecurityGroupId"),
        "network_id": vpc.get("VpcId") or None,
        "subnet_id": vpc.get("VSwitchId") or None,
        "identity": role,
        "metadata_v2_required": None,
        "launched_at": iso(item.get("StartTime") or item.get("CreationTime")),
        # Alibaba-specific
        "zone": item.get("ZoneId"),
        "metadata_tokens_required": (metadata.get("HttpTokens") == "required") if metadata else None,
        "deletion_protection": item.get("DeletionProtection"),
    }
    return ResourceRecord(
        resource_type="instance",
        native_type="alibaba.ecs.instance",
        region=region,
        native_id=item["InstanceId"],
        name=item.get("InstanceName") or item["InstanceId"],
        properties=properties,
        raw=item,
        tags=tags_of(item),
    )


@resource_type(
    "alibaba.ecs.instance",
    resource_type="instance",
    service="ecs",
    permissions=("ecs:DescribeInstances", "ecs:DescribeInstanceRamRole"),
)
@classified
def collect_instances(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """ECS instances with their public and private IPs, security groups, VPC placement and RAM role."""
    for page in pages_by_number(ctx, rpc("ecs", "DescribeInstances"), region, ("Instances", "Instance"), page_size=100):
        roles = _ram_roles(ctx, region, [item["InstanceId"] for item in page])
        for item in page:
            yield instance_record(item, region, roles.get(item["InstanceId"]))


def _ports(port_range: str) -> tuple[int | None, int | None]:
    """ "22/22" -> (22, 22); "-1/-1" (every port, and ICMP) -> (None, None)."""
    try:
        low, high = (int(part) for part in str(port_range).split("/", 1))
    except ValueError:
        return None, None
    if low < 0 or high < 0:
        return None, None
    return low, high


def normalize_rule(permission: dict) -> dict:
    """One ECS permission as a rule in RULE_PROPERTIES' shape (plus its priority)."""
    ingress = permission.get("Direction", "ingress") == "ingress"
    protocol = str(permission.get("IpProtocol", "ALL")).lower()
    from_port, to_port = _ports(permission.get("PortRange", "-1/-1"))
    if protocol == "all":
        from_port = to_port = None
    if ingress:
        cidr = permission.get("SourceCidrIp") or permission.get("Ipv6SourceCidrIp") or None
        group = permission.get("SourceGroupId") or None
    else:
        cidr = permission.get("DestCidrIp") or permission.get("Ipv6DestCidrIp") or None
        group = permission.get("DestGroupId") or None
    return {
        "protocol": protocol,
        "from_port": from_port,
        "to_port": to_port,
        "cidr": cidr,
        "source_group": group,
        "action": "deny" if str(permission.get("Policy", "Accept")).lower() == "drop" else "allow",
        "description": permission.get("Description") or None,
        "priority": int(permission["Priority"]) if str(permission.get("Priority", "")).isdigit() else None,
    }


@resource_type(
    "alibaba.ecs.security_group",
    resource_type="security_group",
    service="ecs",
    permissions=("ecs:DescribeSecurityGroups", "ecs:DescribeSecurityGroupAttribute"),
)
@classified
def collect_security_groups(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """ECS security groups with every ingress and egress rule, normalized like AWS security groups."""
    pages = pages_by_number(ctx, rpc("ecs", "DescribeSecurityGroups"), region, ("SecurityGroups", "SecurityGroup"))
    for page in pages:

        def build(group: Any) -> ResourceRecord:
            detail = ctx.call(
                rpc("ecs", "DescribeSecurityGroupAttribute")(),
                region,
                SecurityGroupId=group["SecurityGroupId"],
                Direction="all",
            )
            permissions = listed(detail.get("Permissions"), "Permission")
            rules = [normalize_rule(p) for p in permissions]
            description = group.get("Description") or None
            properties = {
                "description": description,
                "network_id": group.get("VpcId") or None,
                "ingress": [r for r, p in zip(rules, permissions, strict=True) if p.get("Direction") == "ingress"],
                "egress": [r for r, p in zip(rules, permissions, strict=True) if p.get("Direction") == "egress"],
                # ECS makes no default group per VPC; the console's auto-created one says so.
                "is_default": bool(description and description.startswith("System created")),
                "group_type": group.get("SecurityGroupType"),
                "inner_access_policy": detail.get("InnerAccessPolicy"),
            }
            return ResourceRecord(
                resource_type="security_group",
                native_type="alibaba.ecs.security_group",
                region=region,
                native_id=group["SecurityGroupId"],
                name=group.get("SecurityGroupName") or group["SecurityGroupId"],
                properties=properties,
                raw={**group, "Permissions": permissions},
                tags=tags_of(group),
            )

        yield from ctx.map(build, page)


@resource_type(
    "alibaba.ecs.disk",
    resource_type="volume",
    service="ecs",
    permissions=("ecs:DescribeDisks",),
)
@classified
def collect_disks(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """ECS block storage disks with their encryption (and customer key) and attachment."""
    for page in pages_by_token(ctx, rpc("ecs", "DescribeDisks"), region, ("Disks", "Disk")):
        for disk in page:
            properties = {
                "size_gb": int(disk["Size"]) if disk.get("Size") is not None else None,
                "encrypted": truthy(disk.get("Encrypted")),
                "kms_key_id": disk.get("KMSKeyId") or None,
                "state": str(disk.get("Status", "")).lower(),
                "attached_to": [disk["InstanceId"]] if disk.get("InstanceId") else [],
                "public_network_access": None,
                "category": disk.get("Category"),
                "disk_type": disk.get("Type"),
                "created_at": iso(disk.get("CreationTime")),
            }
            yield ResourceRecord(
                resource_type="volume",
                native_type="alibaba.ecs.disk",
                region=region,
                native_id=disk["DiskId"],
                name=disk.get("DiskName") or disk["DiskId"],
                properties=properties,
                raw=disk,
                tags=tags_of(disk),
            )


@resource_type(
    "alibaba.ecs.snapshot",
    resource_type="snapshot",
    service="ecs",
    permissions=("ecs:DescribeSnapshots",),
    interval_minutes=60,
)
@classified
def collect_snapshots(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """ECS disk snapshots with their source disk and encryption."""
    for page in pages_by_number(ctx, rpc("ecs", "DescribeSnapshots"), region, ("Snapshots", "Snapshot"), page_size=100):
        for snapshot in page:
            properties = {
                "volume_id": snapshot.get("SourceDiskId") or None,
                "encrypted": truthy(snapshot.get("Encrypted")),
                # ECS snapshots cannot be made public; sharing goes through custom images.
                "public": False,
                "shared_with": [],
                "created_at": iso(snapshot.get("CreationTime")),
                "kms_key_id": snapshot.get("KMSKeyId") or None,
                "status": snapshot.get("Status"),
            }
            yield ResourceRecord(
                resource_type="snapshot",
                native_type="alibaba.ecs.snapshot",
                region=region,
                native_id=snapshot["SnapshotId"],
                name=snapshot.get("SnapshotName") or snapshot["SnapshotId"],
                properties=properties,
                raw=snapshot,
                tags=tags_of(snapshot),
            )

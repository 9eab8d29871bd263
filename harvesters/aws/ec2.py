"""EC2: instances, security groups, VPCs, subnets, EBS volumes and snapshots, AMIs, regions.

Collectors only talk to AWS through ``ctx.client(...)`` and import nothing from boto3 at module
level (see harvesters/aws/__init__.py). Native ids are the EC2 resource ids (``i-…``, ``sg-…``);
the ARN is in ``properties["arn"]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harvesters.base import GLOBAL, ResourceRecord, resource_type

PAGE_SIZE = 500

_PROTOCOLS = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
_STATES = {"shutting-down": "stopping"}


def tags_of(item: dict) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in item.get("Tags") or []}


def iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def arn(ctx: Any, region: str, kind: str, native_id: str, account: str | None = None) -> str:
    return f"arn:{ctx.partition}:ec2:{region}:{account or ctx.account_id}:{kind}/{native_id}"


def pages(ctx: Any, region: str, operation: str, **params: Any) -> Iterator[dict]:
    client = ctx.client("ec2", region)
    yield from client.get_paginator(operation).paginate(**params, PaginationConfig={"PageSize": PAGE_SIZE})


def _error_code(exc: BaseException) -> str:
    from harvesters.aws.session import error_code

    return error_code(exc)


# --- instances ------------------------------------------------------------------------------


@resource_type(
    "aws.ec2.instance",
    resource_type="instance",
    service="ec2",
    permissions=("ec2:DescribeInstances",),
)
def collect_instances(ctx: Any, region: str) -> Iterator[ResourceRecord]:
    """EC2 instances: state, type, image, IPs, security groups, subnet, IAM profile and IMDSv2."""
    # moto counts reservations in MaxResults, AWS counts instances: a page size works for both.
    for page in pages(ctx, region, "describe_instances"):
        for reservation in page.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                state = instance.get("State", {}).get("Name", "unknown")
                if state == "terminated":  # gone; AWS lists them for an hour more
                    continue
                yield _instance_record(ctx, region, instance, reservation.get("OwnerId"))


def _instance_record(ctx: Any, region: str, instance: dict, owner: str | None) -> ResourceRecord:
    state = instance.get("State", {}).get("Name", "unknown")
    public_ips: list[str] = []
    private_ips: list[str] = []
    for interface in instance.get("NetworkInterfaces") or []:
        for address in interface.get("PrivateIpAddresses") or []:
            if address.get("PrivateIpAddress"):
                private_ips.append(address["PrivateIpAddress"])
            public_ip = (address.get("Association") or {}).get("PublicIp")
            if public_ip:
                public_ips.append(public_ip)
        public_ips.extend(item["Ipv6Address"] for item in interface.get("Ipv6Addresses") or [] if "Ipv6Address" in item)
    if instance.get("PublicIpAddress"):
        public_ips.append(instance["PublicIpAddress"])
    if instance.get("PrivateIpAddress"):
        private_ips.append(instance["PrivateIpAddress"])
    metadata = instance.get("MetadataOptions") or {}
    if not metadata:
        imdsv2 = None
    else:  # IMDS switched off leaves nothing for IMDSv1 to reach either
        imdsv2 = metadata.get("HttpTokens") == "required" or metadata.get("HttpEndpoint") == "disabled"
    tags = tags_of(instance)
    instance_id = instance["InstanceId"]
    properties = {
        "state": _STATES.get(state, state),
        "instance_type": instance.get("InstanceType"),
        "image_id": instance.get("ImageId"),
        "public_ips": sorted(set(public_ips)),
        "private_ips": sorted(set(private_ips)),
        "has_public_ip": bool(public_ips),
        "security_groups": sorted({group["GroupId"] for group in instance.get("SecurityGroups") or []}),
        "network_id": instance.get("VpcId"),
        "subnet_id": instance.get("SubnetId"),
        "identity": (instance.get("IamInstanceProfile") or {}).get("Arn"),
        "metadata_v2_required": imdsv2,
        "launched_at": iso(instance.get("LaunchTime")),
        # AWS specifics
        "arn": arn(ctx, region, "instance", instance_id, owner),
        "key_name": instance.get("KeyName"),
        "platform": instance.get("PlatformDetails") or instance.get("Platform"),
        "availability_zone": (instance.get("Placement") or {}).get("AvailabilityZone"),
        "monitoring": (instance.get("Monitoring") or {}).get("State"),
        "ebs_optimized": instance.get("EbsOptimized"),
        "metadata_hop_limit": metadata.get("HttpPutResponseHopLimit"),
        "volumes": sorted(
            mapping["Ebs"]["VolumeId"] for mapping in instance.get("BlockDeviceMappings") or [] if "Ebs" in mapping
        ),
    }
    return ResourceRecord(
        resource_type="instance",
        native_type="aws.ec2.instance",
        region=region,
        native_id=instance_id,
        name=tags.get("Name") or instance_id,
        properties=properties,
        raw=instance,
        tags=tags,
    )


# --- security groups ------------------------------------------------------------------------


def normalize_permission(permission: dict) -> list[dict[str, Any]]:
    """One EC2 IpPermission -> normalized rules (RULE_PROPERTIES), one per source."""
    protocol = str(permission.get("IpProtocol", "-1")).lower()
    protocol = _PROTOCOLS.get(protocol, protocol)
    if protocol == "all":
        from_port = to_port = None
    else:
        from_port, to_port = permission.get("FromPort"), permission.get("ToPort")
        from_port = None if from_port in (None, -1) else from_port
        to_port = None if to_port in (None, -1) else to_port

    def rule(cidr: str | None = None, group: str | None = None, description: str | None = None, **extra: Any) -> dict:
        return {
            "protocol": protocol,
            "from_port": from_port,
            "to_port": to_port,
            "cidr": cidr,
            "source_group": group,
            "action": "allow",
            "description": description,
            **extra,
        }

    rules = [
        rule(cidr=item.get("CidrIp"), description=item.get("Description")) for item in permission.get("IpRanges") or []
    ]
    rules += [
        rule(cidr=item.get("CidrIpv6"), description=item.get("Description"))
        for item in permission.get("Ipv6Ranges") or []
    ]
    rules += [
        rule(group=item.get("GroupId"), description=item.get("Description"), source_account=item.get("UserId"))
        for item in permission.get("UserIdGroupPairs") or []
    ]
    rules += [
        rule(description=item.get("Description"), prefix_list=item.get("PrefixListId"))
        for item in permission.get("PrefixListIds") or []
    ]
    return rules


def _rule_key(rule: dict) -> tuple:
    return tuple(
        "" if rule.get(key) is None else str(rule.get(key))
        for key in ("protocol", "from_port", "to_port", "cidr", "source_group", "prefix_list", "description")
    )


def normalize_permissions(permissions: list[dict]) -> list[dict]:
    rules = [rule for permission in permissions or [] for rule in normalize_permission(permission)]
    return sorted(rules, key=_rule_key)  # a stable order: reordering alone is not a change


@resource_type(
    "aws.ec2.security_group",
    resource_type="security_group",
    service="ec2",
    permissions=("ec2:DescribeSecurityGroups",),
)
def collect_security_groups(ctx: Any, region: str) -> Iterator[ResourceRecord]:
    """Security groups with ingress and egress rules normalized to protocol, ports and source."""
    for page in pages(ctx, region, "describe_security_groups"):
        for group in page.get("SecurityGroups", []):
            group_id = group["GroupId"]
            tags = tags_of(group)
            yield ResourceRecord(
                resource_type="security_group",
                native_type="aws.ec2.security_group",
                region=region,
                native_id=group_id,
                name=group.get("GroupName") or group_id,
                properties={
                    "description": group.get("Description"),
                    "network_id": group.get("VpcId"),
                    "ingress": normalize_permissions(group.get("IpPermissions")),
                    "egress": normalize_permissions(group.get("IpPermissionsEgress")),
                    "is_default": group.get("GroupName") == "default",
                    "arn": arn(ctx, region, "security-group", group_id, group.get("OwnerId")),
                },
                raw=group,
                tags=tags,
            )


# --- VPCs and subnets -----------------------------------------------------------------------


def _flow_log_targets(ctx: Any, region: str) -> set[str]:
    """Ids of the VPCs, subnets and interfaces with an active flow log."""
    client = ctx.client("ec2", region)
    targets = set()
    for page in client.get_paginator("describe_flow_logs").paginate():
        for flow_log in page.get("FlowLogs", []):
            if flow_log.get("FlowLogStatus", "ACTIVE") == "ACTIVE" and flow_log.get("ResourceId"):
                targets.add(flow_log["ResourceId"])
    return targets


@resource_type(
    "aws.ec2.vpc",
    resource_type="network",
    service="ec2",
    permissions=("ec2:DescribeVpcs", "ec2:DescribeFlowLogs"),
)
def collect_vpcs(ctx: Any, region: str) -> Iterator[ResourceRecord]:
    """VPCs with their CIDR blocks and whether a flow log is active."""
    flow_logs = _flow_log_targets(ctx, region)
    for page in pages(ctx, region, "describe_vpcs"):
        for vpc in page.get("Vpcs", []):
            vpc_id = vpc["VpcId"]
            cidrs = [
                item["CidrBlock"]
                for item in vpc.get("CidrBlockAssociationSet") or []
                if (item.get("CidrBlockState") or {}).get("State", "associated") == "associated"
            ] or ([vpc["CidrBlock"]] if vpc.get("CidrBlock") else [])
            cidrs += [
                item["Ipv6CidrBlock"]
                for item in vpc.get("Ipv6CidrBlockAssociationSet") or []
                if item.get("Ipv6CidrBlock")
            ]
            tags = tags_of(vpc)
            yield ResourceRecord(
                resource_type="network",
                native_type="aws.ec2.vpc",
                region=region,
                native_id=vpc_id,
                name=tags.get("Name") or vpc_id,
                properties={
                    "cidr_blocks": cidrs,
                    "is_default": bool(vpc.get("IsDefault")),
                    "flow_logs_enabled": vpc_id in flow_logs,
                    "arn": arn(ctx, region, "vpc", vpc_id, vpc.get("OwnerId")),
                    "state": vpc.get("State"),
                    "instance_tenancy": vpc.get("InstanceTenancy"),
                },
                raw=vpc,
                tags=tags,
            )


@resource_type(
    "aws.ec2.subnet",
    resource_type="subnet",
    service="ec2",
    permissions=("ec2:DescribeSubnets", "ec2:DescribeFlowLogs"),
)
def collect_subnets(ctx: Any, region: str) -> Iterator[ResourceRecord]:
    """Subnets: VPC, CIDR, public IP on launch and flow logs (their own or their VPC's)."""
    flow_logs = _flow_log_targets(ctx, region)
    for page in pages(ctx, region, "describe_subnets"):
        for subnet in page.get("Subnets", []):
            subnet_id = subnet["SubnetId"]
            tags = tags_of(subnet)
            yield ResourceRecord(
                resource_type="subnet",
                native_type="aws.ec2.subnet",
                region=region,
                native_id=subnet_id,
                name=tags.get("Name") or subnet_id,
                properties={
                    "network_id": subnet.get("VpcId"),
                    "cidr_block": subnet.get("CidrBlock"),
                    "maps_public_ip_on_launch": bool(subnet.get("MapPublicIpOnLaunch")),
                    "flow_logs_enabled": subnet_id in flow_logs or subnet.get("VpcId") in flow_logs,
                    "private_access_enabled": None,
                    "arn": subnet.get("SubnetArn") or arn(ctx, region, "subnet", subnet_id, subnet.get("OwnerId")),
                    "availability_zone": subnet.get("AvailabilityZone"),
                    "default_for_az": bool(subnet.get("DefaultForAz")),
                    "available_ip_count": subnet.get("AvailableIpAddressCount"),
                },
                raw=subnet,
                tags=tags,
            )


# --- EBS volumes and snapshots --------------------------------------------------------------


class _KeyManagers:
    """Is a KMS key customer-managed? One DescribeKey per key and listing (AWS-managed aws/ebs is not)."""

    def __init__(self, ctx: Any, region: str) -> None:
        self.ctx, self.region, self.cache = ctx, region, {}

    def customer_managed(self, key_id: str | None) -> str | None:
        if not key_id:
            return None
        if key_id not in self.cache:
            try:
                manager = (
                    self.ctx.client("kms", self.region).describe_key(KeyId=key_id)["KeyMetadata"].get("KeyManager")
                )
            except Exception as exc:
                if _error_code(exc) in ("", "ThrottlingException", "InternalException"):
                    raise
                manager = "CUSTOMER"  # cannot tell (no kms:DescribeKey): say which key, do not guess "AWS"
            self.cache[key_id] = manager
        return key_id if self.cache[key_id] == "CUSTOMER" else None


@resource_type(
    "aws.ec2.volume",
    resource_type="volume",
    service="ec2",
    permissions=("ec2:DescribeVolumes", "kms:DescribeKey"),
)
def collect_volumes(ctx: Any, region: str) -> Iterator[ResourceRecord]:
    """EBS volumes: size, encryption (and customer-managed key), state and attachments."""
    keys = _KeyManagers(ctx, region)
    for page in pages(ctx, region, "describe_volumes"):
        for volume in page.get("Volumes", []):
            volume_id = volume["VolumeId"]
            tags = tags_of(volume)
            yield ResourceRecord(
                resource_type="volume",
                native_type="aws.ec2.volume",
                region=region,
                native_id=volume_id,
                name=tags.get("Name") or volume_id,
                properties={
                    "size_gb": volume.get("Size"),
                    "encrypted": bool(volume.get("Encrypted")),
                    "kms_key_id": keys.customer_managed(volume.get("KmsKeyId")) if volume.get("Encrypted") else None,
                    "state": volume.get("State"),
                    "attached_to": sorted(
                        {item["InstanceId"] for item in volume.get("Attachments") or [] if item.get("InstanceId")}
                    ),
                    "public_network_access": None,
                    "arn": arn(ctx, region, "volume", volume_id),
                    "volume_type": volume.get("VolumeType"),
                    "availability_zone": volume.get("AvailabilityZone"),
                    "snapshot_id": volume.get("SnapshotId") or None,
                    "created_at": iso(volume.get("CreateTime")),
                },
                raw=volume,
                tags=tags,
            )


def _permissions(
    ctx: Any, region: str, call: str, attribute: str, result_key: str, **params: Any
) -> tuple[bool, list[str]] | None:
    """(public, shared account ids) from a create-volume / launch permission attribute; None if gone."""
    try:
        response = getattr(ctx.client("ec2", region), call)(Attribute=attribute, **params)
    except Exception as exc:
        if _error_code(exc).endswith(".NotFound"):  # deleted since the listing: skip it
            return None
        raise
    entries = response.get(result_key) or []
    public = any(entry.get("Group") == "all" for entry in entries)
    shared = sorted({entry["UserId"] for entry in entries if entry.get("UserId")})
    return public, shared


@resource_type(
    "aws.ec2.snapshot",
    resource_type="snapshot",
    service="ec2",
    permissions=("ec2:DescribeSnapshots", "ec2:DescribeSnapshotAttribute"),
)
def collect_snapshots(ctx: Any, region: str) -> Iterator[ResourceRecord]:
    """The account's own EBS snapshots, with encryption and whether they are public or shared."""
    for page in pages(ctx, region, "describe_snapshots", OwnerIds=["self"]):
        for snapshot in page.get("Snapshots", []):
            # moto answers OwnerIds=['self'] with ~1,300 Amazon-owned snapshots too: keep ours only.
            if snapshot.get("OwnerId") != ctx.account_id:
                continue
            snapshot_id = snapshot["SnapshotId"]
            permissions = _permissions(
                ctx,
                region,
                "describe_snapshot_attribute",
                "createVolumePermission",
                "CreateVolumePermissions",
                SnapshotId=snapshot_id,
            )
            if permissions is None:
                continue
            public, shared = permissions
            tags = tags_of(snapshot)
            yield ResourceRecord(
                resource_type="snapshot",
                native_type="aws.ec2.snapshot",
                region=region,
                native_id=snapshot_id,
                name=tags.get("Name") or snapshot_id,
                properties={
                    "volume_id": snapshot.get("VolumeId"),
                    "encrypted": bool(snapshot.get("Encrypted")),
                    "public": public,
                    "shared_with": shared,
                    "created_at": iso(snapshot.get("StartTime")),
                    "arn": f"arn:{ctx.partition}:ec2:{region}::snapshot/{snapshot_id}",
                    "kms_key_id": snapshot.get("KmsKeyId"),
                    "size_gb": snapshot.get("VolumeSize"),
                    "state": snapshot.get("State"),
                },
                raw=snapshot,
                tags=tags,
            )


@resource_type(
    "aws.ec2.image",
    resource_type="machine_image",
    service="ec2",
    permissions=("ec2:DescribeImages", "ec2:DescribeImageAttribute"),
)
def collect_images(ctx: Any, region: str) -> Iterator[ResourceRecord]:
    """The account's own AMIs, public or shared through launch permissions."""
    for page in pages(ctx, region, "describe_images", Owners=["self"]):
        for image in page.get("Images", []):
            if image.get("OwnerId") != ctx.account_id:
                continue
            image_id = image["ImageId"]
            permissions = _permissions(
                ctx, region, "describe_image_attribute", "launchPermission", "LaunchPermissions", ImageId=image_id
            )
            if permissions is None:
                continue
            public, shared = permissions
            tags = tags_of(image)
            yield ResourceRecord(
                resource_type="machine_image",
                native_type="aws.ec2.image",
                region=region,
                native_id=image_id,
                name=image.get("Name") or tags.get("Name") or image_id,
                properties={
                    "public": public or bool(image.get("Public")),
                    "shared_with": shared,
                    "created_at": image.get("CreationDate"),
                    "arn": f"arn:{ctx.partition}:ec2:{region}::image/{image_id}",
                    "state": image.get("State"),
                    "architecture": image.get("Architecture"),
                    "root_device_type": image.get("RootDeviceType"),
                },
                raw=image,
                tags=tags,
            )


# --- regions --------------------------------------------------------------------------------


@resource_type(
    "aws.ec2.region",
    resource_type="region",
    service="ec2",
    scope="global",
    permissions=("ec2:DescribeRegions",),
    interval_minutes=24 * 60,
)
def collect_regions(ctx: Any, region: str) -> Iterator[ResourceRecord]:
    """Every region of the partition and whether the account has it enabled."""
    response = ctx.client("ec2").describe_regions(AllRegions=True)
    for item in response.get("Regions", []):
        name = item["RegionName"]
        yield ResourceRecord(
            resource_type="region",
            native_type="aws.ec2.region",
            region=GLOBAL,
            native_id=name,
            name=name,
            properties={
                "enabled": item.get("OptInStatus", "opt-in-not-required") != "not-opted-in",
                "opt_in_status": item.get("OptInStatus"),
                "endpoint": item.get("Endpoint"),
            },
            raw=item,
        )

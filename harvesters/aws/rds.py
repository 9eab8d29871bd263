"""RDS database instances and their snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.aws.support import UNAVAILABLE, iso, json_safe, known, optional, tags_from_list
from harvesters.base import ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext


def _ingress_cidrs_by_group(ctx: AwsContext, region: str, databases: list[dict]) -> dict[str, list[str]] | None:
    """Security group id -> the IPv4/IPv6 ranges its ingress rules admit; one call per page of databases.
    None when the groups cannot be read (the networks are then unknown, not empty)."""
    group_ids = sorted({g["VpcSecurityGroupId"] for db in databases for g in db.get("VpcSecurityGroups", [])})
    if not group_ids:
        return {}
    answer = optional(lambda: ctx.client("ec2", region).describe_security_groups(GroupIds=group_ids))
    if answer is None or answer is UNAVAILABLE:
        return None
    cidrs: dict[str, list[str]] = {}
    for group in answer.get("SecurityGroups", []):
        ranges = cidrs.setdefault(group["GroupId"], [])
        for rule in group.get("IpPermissions", []):
            ranges += [r["CidrIp"] for r in rule.get("IpRanges", [])]
            ranges += [r["CidrIpv6"] for r in rule.get("Ipv6Ranges", [])]
    return cidrs


def _authorized_networks(db: dict, group_cidrs: dict[str, list[str]] | None) -> list[str] | None:
    if group_cidrs is None:
        return None
    groups = [g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups", [])]
    return sorted({cidr for group in groups for cidr in group_cidrs.get(group, [])})


@resource_type(
    "aws.rds.db_instance",
    resource_type="database_instance",
    service="rds",
    interval_minutes=30,
    permissions=("rds:DescribeDBInstances", "ec2:DescribeSecurityGroups"),
)
def collect_db_instances(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """RDS DB instances: engine and version, public accessibility, storage encryption, backup retention,
    multi-AZ, deletion protection, IAM authentication, security groups."""
    rds = ctx.client("rds", region)
    for page in rds.get_paginator("describe_db_instances").paginate():
        group_cidrs = _ingress_cidrs_by_group(ctx, region, page.get("DBInstances", []))
        for db in page.get("DBInstances", []):
            endpoint = db.get("Endpoint") or {}
            properties = {
                "engine": db.get("Engine"),
                "engine_version": db.get("EngineVersion"),
                "public": bool(db.get("PubliclyAccessible")),
                "encrypted": bool(db.get("StorageEncrypted")),
                "backup_retention_days": db.get("BackupRetentionPeriod"),
                "multi_az": db.get("MultiAZ"),
                # TLS enforcement lives in the parameter group (rds.force_ssl / require_secure_transport).
                "ssl_required": None,
                # On AWS the security groups decide who connects: the CIDRs their ingress rules allow.
                "authorized_networks": _authorized_networks(db, group_cidrs),
                # AWS specifics
                "status": db.get("DBInstanceStatus"),
                "instance_class": db.get("DBInstanceClass"),
                "kms_key_id": db.get("KmsKeyId"),
                "deletion_protection": db.get("DeletionProtection"),
                "iam_auth_enabled": db.get("IAMDatabaseAuthenticationEnabled"),
                "auto_minor_version_upgrade": db.get("AutoMinorVersionUpgrade"),
                "security_groups": [g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups", [])],
                "network_id": (db.get("DBSubnetGroup") or {}).get("VpcId"),
                "endpoint": endpoint.get("Address"),
                "port": endpoint.get("Port"),
                "cluster": db.get("DBClusterIdentifier"),
                "ca_certificate": db.get("CACertificateIdentifier"),
                "parameter_groups": [p["DBParameterGroupName"] for p in db.get("DBParameterGroups", [])],
                "created_at": iso(db.get("InstanceCreateTime")),
            }
            raw = json_safe(db)
            raw.pop("LatestRestorableTime", None)  # moves every few minutes; not a configuration change
            yield ResourceRecord(
                resource_type="database_instance",
                native_type="aws.rds.db_instance",
                region=region,
                native_id=db["DBInstanceArn"],
                name=db["DBInstanceIdentifier"],
                properties=properties,
                raw=raw,
                tags=tags_from_list(db.get("TagList")),
            )


def restore_attribute(rds, snapshot_id: str) -> list[str] | None | object:
    """Who may restore a manual snapshot: account ids, or "all" when it is public."""
    response = optional(
        lambda: rds.describe_db_snapshot_attributes(DBSnapshotIdentifier=snapshot_id),
        absent=("DBSnapshotNotFound",),
        what="DescribeDBSnapshotAttributes",
    )
    if response is None or response is UNAVAILABLE:
        return response
    for attribute in response.get("DBSnapshotAttributesResult", {}).get("DBSnapshotAttributes", []):
        if attribute.get("AttributeName") == "restore":
            return list(attribute.get("AttributeValues", []))
    return []


@resource_type(
    "aws.rds.db_snapshot",
    resource_type="database_snapshot",
    service="rds",
    interval_minutes=30,
    permissions=("rds:DescribeDBSnapshots", "rds:DescribeDBSnapshotAttributes"),
)
def collect_db_snapshots(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """RDS DB snapshots of the account (manual and automated): public or shared with other accounts, encryption."""
    rds = ctx.client("rds", region)
    for page in rds.get_paginator("describe_db_snapshots").paginate():
        for snapshot in page.get("DBSnapshots", []):
            snapshot_id = snapshot["DBSnapshotIdentifier"]
            # Only manual snapshots can be shared; automated ones never are.
            restore = restore_attribute(rds, snapshot_id) if snapshot.get("SnapshotType") == "manual" else []
            accounts = known(restore) or []
            properties = {
                "public": None if restore is UNAVAILABLE else "all" in accounts,
                "encrypted": bool(snapshot.get("Encrypted")),
                "shared_with": sorted(a for a in accounts if a != "all"),
                # AWS specifics
                "db_instance": snapshot.get("DBInstanceIdentifier"),
                "snapshot_type": snapshot.get("SnapshotType"),
                "engine": snapshot.get("Engine"),
                "engine_version": snapshot.get("EngineVersion"),
                "kms_key_id": snapshot.get("KmsKeyId"),
                "status": snapshot.get("Status"),
                "created_at": iso(snapshot.get("SnapshotCreateTime")),
            }
            yield ResourceRecord(
                resource_type="database_snapshot",
                native_type="aws.rds.db_snapshot",
                region=region,
                native_id=snapshot.get("DBSnapshotArn") or snapshot_id,
                name=snapshot_id,
                properties=properties,
                raw=json_safe(snapshot),
                tags=tags_from_list(snapshot.get("TagList")),
            )

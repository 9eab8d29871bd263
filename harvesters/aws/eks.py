"""EKS clusters: version, API endpoint exposure, control-plane logging, secrets encryption."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.aws.support import iso, json_safe
from harvesters.base import ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext


@resource_type(
    "aws.eks.cluster",
    resource_type="container_cluster",
    service="eks",
    interval_minutes=60,
    permissions=("eks:ListClusters", "eks:DescribeCluster"),
)
def collect_clusters(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """EKS clusters: Kubernetes version, public/private API endpoint and the CIDRs allowed to reach it,
    control-plane log types enabled, envelope encryption of secrets."""
    eks = ctx.client("eks", region)
    for page in eks.get_paginator("list_clusters").paginate():
        for name in page.get("clusters", []):
            try:
                cluster = eks.describe_cluster(name=name)["cluster"]
            except eks.exceptions.ResourceNotFoundException:
                continue  # deleted between the listing and now
            vpc = cluster.get("resourcesVpcConfig") or {}
            enabled_logs = sorted(
                kind
                for setup in (cluster.get("logging") or {}).get("clusterLogging", [])
                if setup.get("enabled")
                for kind in setup.get("types", [])
            )
            public = bool(vpc.get("endpointPublicAccess"))
            cidrs = vpc.get("publicAccessCidrs", []) if public else []
            properties = {
                "version": cluster.get("version"),
                "endpoint_public": public,
                "logging_enabled": bool(enabled_logs),
                "rbac_enabled": True,  # EKS always authorizes with Kubernetes RBAC
                "network_policy_enabled": None,  # depends on the CNI add-on, not visible here
                # AWS specifics
                "endpoint_private": bool(vpc.get("endpointPrivateAccess")),
                "public_access_cidrs": cidrs,
                "endpoint_open_to_world": public and (not cidrs or "0.0.0.0/0" in cidrs),
                "log_types": enabled_logs,
                "secrets_encrypted": bool(cluster.get("encryptionConfig")),
                "role": cluster.get("roleArn"),
                "network_id": vpc.get("vpcId"),
                "security_groups": sorted(
                    set(vpc.get("securityGroupIds", [])) | {vpc["clusterSecurityGroupId"]}
                    if vpc.get("clusterSecurityGroupId")
                    else set(vpc.get("securityGroupIds", []))
                ),
                "status": cluster.get("status"),
                "created_at": iso(cluster.get("createdAt")),
            }
            yield ResourceRecord(
                resource_type="container_cluster",
                native_type="aws.eks.cluster",
                region=region,
                native_id=cluster.get("arn") or name,
                name=name,
                properties=properties,
                raw=json_safe({k: v for k, v in cluster.items() if k != "certificateAuthority"}),
                tags=dict(cluster.get("tags") or {}),
            )

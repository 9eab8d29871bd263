"""Compute Engine: instances, firewall rules, networks, subnetworks, disks, snapshots, images.

Instances, disks and subnetworks come from one ``aggregatedList`` per project (every zone and
region in one paged call), shared by the harvest's regions through ``ctx.regional``. Firewall
rules, networks, snapshots and images are global to the project.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from harvesters.base import ResourceRecord, resource_type
from harvesters.gcp.common import (
    last_segment,
    metadata_items,
    public_reasons,
    region_of_scope,
    resource_path,
    shared_with,
    truthy,
    utc_iso,
)

if TYPE_CHECKING:
    from harvesters.gcp.session import GcpContext  # imports the SDK: type hints only

PAGE = 500
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
DEFAULT_FIREWALL_RULES = {"default-allow-internal", "default-allow-ssh", "default-allow-rdp", "default-allow-icmp"}
_STATES = {
    "RUNNING": "running",
    "PROVISIONING": "pending",
    "STAGING": "pending",
    "REPAIRING": "pending",
    "STOPPING": "stopping",
    "SUSPENDING": "stopping",
    "STOPPED": "stopped",
    "SUSPENDED": "stopped",
    "TERMINATED": "stopped",  # GCP's TERMINATED is a stopped VM that can be started again
}
_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "ipv6-icmp": "icmpv6", "all": "all"}


def _aggregated_by_region(ctx: GcpContext, kind: str) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    method = getattr(ctx.api("compute"), kind)().aggregatedList
    for scope, item in ctx.aggregated(method, kind, project=ctx.project_id, maxResults=PAGE):
        grouped.setdefault(region_of_scope(scope), []).append(item)
    return grouped


def _regional(ctx: GcpContext, kind: str, region: str) -> list[dict]:
    return ctx.regional(f"compute.{kind}", lambda: _aggregated_by_region(ctx, kind), region)


def _global(ctx: GcpContext, kind: str) -> Iterator[dict]:
    method = getattr(ctx.api("compute"), kind)().list
    return ctx.items(method, "items", project=ctx.project_id, maxResults=PAGE)


def _project_metadata(ctx: GcpContext) -> dict[str, str]:
    project = ctx.execute(ctx.api("compute").projects().get(project=ctx.project_id))
    return metadata_items(project.get("commonInstanceMetadata"))


# --- instances ----------------------------------------------------------------------------


@resource_type(
    "gcp.compute.instance",
    resource_type="instance",
    service="compute",
    permissions=("compute.instances.list", "compute.projects.get"),
)
def collect_instances(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """Compute Engine VMs: external IPs, service account and scopes, serial port, OS Login, Shielded VM."""
    instances = _regional(ctx, "instances", region)
    if not instances:
        return
    project_metadata = _project_metadata(ctx)
    for instance in instances:
        yield _instance_record(instance, region, project_metadata)


def _instance_record(instance: dict, region: str, project_metadata: dict[str, str]) -> ResourceRecord:
    interfaces = instance.get("networkInterfaces") or []
    public_ips = [
        ip
        for nic in interfaces
        for ip in [c.get("natIP") for c in nic.get("accessConfigs") or []]
        + [c.get("externalIpv6") for c in nic.get("ipv6AccessConfigs") or []]
        if ip
    ]
    private_ips = [nic["networkIP"] for nic in interfaces if nic.get("networkIP")]
    accounts = instance.get("serviceAccounts") or []
    email = accounts[0].get("email") if accounts else None
    scopes = sorted({scope for account in accounts for scope in account.get("scopes") or []})
    metadata = metadata_items(instance.get("metadata"))

    def effective(key: str) -> bool | None:
        # Instance metadata overrides the project's common metadata.
        return truthy(metadata.get(key, project_metadata.get(key)))

    shielded = instance.get("shieldedInstanceConfig") or {}
    boot = next((d for d in instance.get("disks") or [] if d.get("boot")), None)
    properties: dict[str, Any] = {
        "state": _STATES.get(instance.get("status", ""), "unknown"),
        "instance_type": last_segment(instance.get("machineType")),
        "image_id": None,  # the image is on the boot disk (volume.source_image)
        "public_ips": public_ips,
        "private_ips": private_ips,
        "has_public_ip": bool(public_ips),
        "security_groups": sorted((instance.get("tags") or {}).get("items") or []),
        "network_id": resource_path(interfaces[0].get("network")) if interfaces else None,
        "subnet_id": resource_path(interfaces[0].get("subnetwork")) if interfaces else None,
        "identity": email,
        "metadata_v2_required": None,
        "launched_at": utc_iso(instance.get("lastStartTimestamp") or instance.get("creationTimestamp")),
        # GCP-specific
        "zone": last_segment(instance.get("zone")),
        "network_tags": sorted((instance.get("tags") or {}).get("items") or []),
        "service_account_scopes": scopes,
        "default_service_account": bool(email and email.endswith("-compute@developer.gserviceaccount.com")),
        "full_api_access": CLOUD_PLATFORM_SCOPE in scopes,
        "serial_port_enabled": bool(effective("serial-port-enable")),
        "os_login_enabled": bool(effective("enable-oslogin")),
        "block_project_ssh_keys": bool(truthy(metadata.get("block-project-ssh-keys"))),
        "ip_forwarding": bool(instance.get("canIpForward")),
        "shielded_vm": {
            "secure_boot": bool(shielded.get("enableSecureBoot")),
            "vtpm": bool(shielded.get("enableVtpm")),
            "integrity_monitoring": bool(shielded.get("enableIntegrityMonitoring")),
        },
        "confidential_computing": bool(
            (instance.get("confidentialInstanceConfig") or {}).get("enableConfidentialCompute")
        ),
        "deletion_protection": bool(instance.get("deletionProtection")),
        "boot_disk": resource_path(boot.get("source")) if boot else None,
        "disks": [resource_path(d.get("source")) for d in instance.get("disks") or [] if d.get("source")],
    }
    return ResourceRecord(
        resource_type="instance",
        native_type="gcp.compute.instance",
        region=region,
        native_id=resource_path(instance.get("selfLink")) or instance["id"],
        name=instance.get("name", ""),
        properties=properties,
        raw=instance,
        tags=dict(instance.get("labels") or {}),
    )


# --- firewall rules -------------------------------------------------------------------------


def _protocol(value: Any) -> str:
    text = str(value).lower()
    return _PROTOCOLS.get(text, text)


def _port_ranges(ports: list[str] | None) -> list[tuple[int | None, int | None]]:
    if not ports:
        return [(None, None)]
    ranges = []
    for port in ports:
        low, _, high = str(port).partition("-")
        ranges.append((int(low), int(high or low)))
    return ranges


def firewall_rules(firewall: dict) -> list[dict[str, Any]]:
    """One normalized rule (RULE_PROPERTIES) per protocol x port range x source/destination."""
    ingress = firewall.get("direction", "INGRESS") == "INGRESS"
    if ingress:
        peers = [("cidr", r) for r in firewall.get("sourceRanges") or []]
        peers += [("source_group", f"tag:{t}") for t in firewall.get("sourceTags") or []]
        peers += [("source_group", f"serviceAccount:{s}") for s in firewall.get("sourceServiceAccounts") or []]
    else:
        peers = [("cidr", r) for r in firewall.get("destinationRanges") or []]
    if not peers:
        peers = [("cidr", "0.0.0.0/0")]  # GCP's default when a rule names no source/destination
    rules = []
    for action, entries in (("allow", firewall.get("allowed")), ("deny", firewall.get("denied"))):
        for entry in entries or []:
            for low, high in _port_ranges(entry.get("ports")):
                for kind, peer in peers:
                    rules.append(
                        {
                            "protocol": _protocol(entry.get("IPProtocol", "all")),
                            "from_port": low,
                            "to_port": high,
                            "cidr": peer if kind == "cidr" else None,
                            "source_group": peer if kind == "source_group" else None,
                            "action": action,
                            "description": firewall.get("description") or None,
                        }
                    )
    return rules


@resource_type(
    "gcp.compute.firewall",
    resource_type="security_group",
    service="compute",
    scope="global",
    permissions=("compute.firewalls.list",),
)
def collect_firewalls(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """VPC firewall rules, each normalized like a security group (disabled rules have no effective rules)."""
    for firewall in _global(ctx, "firewalls"):
        ingress = firewall.get("direction", "INGRESS") == "INGRESS"
        rules = [] if firewall.get("disabled") else firewall_rules(firewall)
        properties = {
            "description": firewall.get("description") or None,
            "network_id": resource_path(firewall.get("network")),
            "ingress": rules if ingress else [],
            "egress": [] if ingress else rules,
            "is_default": firewall.get("name") in DEFAULT_FIREWALL_RULES,
            # GCP-specific
            "direction": firewall.get("direction", "INGRESS").lower(),
            "priority": firewall.get("priority", 1000),
            "disabled": bool(firewall.get("disabled")),
            "target_tags": list(firewall.get("targetTags") or []),
            "target_service_accounts": list(firewall.get("targetServiceAccounts") or []),
            "applies_to_all_instances": not firewall.get("targetTags") and not firewall.get("targetServiceAccounts"),
            "logging_enabled": bool((firewall.get("logConfig") or {}).get("enable")),
        }
        yield ResourceRecord(
            resource_type="security_group",
            native_type="gcp.compute.firewall",
            region=region,
            native_id=resource_path(firewall.get("selfLink")) or firewall["id"],
            name=firewall.get("name", ""),
            properties=properties,
            raw=firewall,
        )


# --- networks and subnetworks ----------------------------------------------------------------


def _subnet_flow_logs(subnet: dict) -> bool:
    return bool((subnet.get("logConfig") or {}).get("enable") or subnet.get("enableFlowLogs"))


@resource_type(
    "gcp.compute.network",
    resource_type="network",
    service="compute",
    scope="global",
    permissions=("compute.networks.list", "compute.subnetworks.list"),
)
def collect_networks(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """VPC networks: legacy (non-VPC) networks, the auto-created default network, flow logs of every subnet."""
    subnets_by_network: dict[str, list[dict]] = {}
    for _, subnet in ctx.aggregated(
        ctx.api("compute").subnetworks().aggregatedList, "subnetworks", project=ctx.project_id, maxResults=PAGE
    ):
        subnets_by_network.setdefault(resource_path(subnet.get("network")) or "", []).append(subnet)
    for network in _global(ctx, "networks"):
        native_id = resource_path(network.get("selfLink")) or network["id"]
        subnets = subnets_by_network.get(native_id, [])
        legacy = bool(network.get("IPv4Range"))
        properties = {
            "cidr_blocks": [network["IPv4Range"]]
            if legacy
            else [s["ipCidrRange"] for s in subnets if s.get("ipCidrRange")],
            "is_default": network.get("name") == "default",
            "flow_logs_enabled": bool(subnets) and all(_subnet_flow_logs(s) for s in subnets),
            # GCP-specific
            "legacy": legacy,
            "auto_create_subnetworks": bool(network.get("autoCreateSubnetworks")),
            "routing_mode": (network.get("routingConfig") or {}).get("routingMode"),
            "subnet_count": len(subnets),
            "subnets_without_flow_logs": sorted(
                resource_path(s.get("selfLink")) or "" for s in subnets if not _subnet_flow_logs(s)
            ),
        }
        yield ResourceRecord(
            resource_type="network",
            native_type="gcp.compute.network",
            region=region,
            native_id=native_id,
            name=network.get("name", ""),
            properties=properties,
            raw=network,
        )


@resource_type(
    "gcp.compute.subnetwork",
    resource_type="subnet",
    service="compute",
    permissions=("compute.subnetworks.list",),
)
def collect_subnetworks(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """VPC subnetworks: flow logs and private Google access."""
    for subnet in _regional(ctx, "subnetworks", region):
        properties = {
            "network_id": resource_path(subnet.get("network")),
            "cidr_block": subnet.get("ipCidrRange"),
            "maps_public_ip_on_launch": False,  # GCP gives external IPs per instance, never per subnet
            "flow_logs_enabled": _subnet_flow_logs(subnet),
            "private_access_enabled": bool(subnet.get("privateIpGoogleAccess")),
            # GCP-specific
            "purpose": subnet.get("purpose"),
            "secondary_ranges": [r.get("ipCidrRange") for r in subnet.get("secondaryIpRanges") or []],
            "ipv6_cidr_block": subnet.get("ipv6CidrRange") or subnet.get("externalIpv6Prefix"),
            "flow_log_config": subnet.get("logConfig"),
        }
        yield ResourceRecord(
            resource_type="subnet",
            native_type="gcp.compute.subnetwork",
            region=region,
            native_id=resource_path(subnet.get("selfLink")) or subnet["id"],
            name=subnet.get("name", ""),
            properties=properties,
            raw=subnet,
        )


# --- disks, snapshots, images ------------------------------------------------------------------


def _kms_key(encryption_key: dict | None) -> str | None:
    """The CMEK of a disk/snapshot/image, without the key version."""
    name = (encryption_key or {}).get("kmsKeyName")
    return name.split("/cryptoKeyVersions/")[0] if name else None


@resource_type(
    "gcp.compute.disk",
    resource_type="volume",
    service="compute",
    permissions=("compute.disks.list",),
)
def collect_disks(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """Persistent disks (zonal and regional): customer-managed (CMEK) or customer-supplied keys."""
    for disk in _regional(ctx, "disks", region):
        users = [resource_path(u) for u in disk.get("users") or []]
        status = disk.get("status", "")
        encryption = disk.get("diskEncryptionKey") or {}
        properties = {
            "size_gb": int(disk["sizeGb"]) if disk.get("sizeGb") else None,
            "encrypted": True,  # Compute Engine encrypts every disk; kms_key_id says whose key
            "kms_key_id": _kms_key(encryption),
            "state": ("in-use" if users else "available") if status == "READY" else status.lower() or "unknown",
            "attached_to": users,
            "public_network_access": None,
            # GCP-specific
            "zone": last_segment(disk.get("zone")),
            "disk_type": last_segment(disk.get("type")),
            "source_image": resource_path(disk.get("sourceImage")),
            "source_snapshot": resource_path(disk.get("sourceSnapshot")),
            "customer_supplied_key": bool(encryption.get("sha256") or encryption.get("rawKey")),
            "created_at": utc_iso(disk.get("creationTimestamp")),
        }
        yield ResourceRecord(
            resource_type="volume",
            native_type="gcp.compute.disk",
            region=region,
            native_id=resource_path(disk.get("selfLink")) or disk["id"],
            name=disk.get("name", ""),
            properties=properties,
            raw=disk,
            tags=dict(disk.get("labels") or {}),
        )


@resource_type(
    "gcp.compute.snapshot",
    resource_type="snapshot",
    service="compute",
    scope="global",
    permissions=("compute.snapshots.list", "compute.snapshots.getIamPolicy"),
)
def collect_snapshots(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """Disk snapshots: source disk, CMEK, storage locations, who may use them (IAM)."""
    snapshots = ctx.api("compute").snapshots()  # build a resource once: each build costs ~30 ms
    for snapshot in _global(ctx, "snapshots"):
        encryption = snapshot.get("snapshotEncryptionKey") or {}
        policy = ctx.execute(snapshots.getIamPolicy(project=ctx.project_id, resource=snapshot["name"]))
        reasons = public_reasons(policy)
        properties = {
            "volume_id": resource_path(snapshot.get("sourceDisk")),
            "encrypted": True,  # always, with Google's key unless kms_key_id says otherwise
            "public": bool(reasons),
            "shared_with": shared_with(policy),
            "created_at": utc_iso(snapshot.get("creationTimestamp")),
            # GCP-specific
            "public_reasons": reasons,
            "kms_key_id": _kms_key(encryption),
            "customer_supplied_key": bool(encryption.get("sha256") or encryption.get("rawKey")),
            "storage_locations": list(snapshot.get("storageLocations") or []),
            "size_gb": int(snapshot["diskSizeGb"]) if snapshot.get("diskSizeGb") else None,
        }
        yield ResourceRecord(
            resource_type="snapshot",
            native_type="gcp.compute.snapshot",
            region=region,
            native_id=resource_path(snapshot.get("selfLink")) or snapshot["id"],
            name=snapshot.get("name", ""),
            properties=properties,
            raw=snapshot,
            tags=dict(snapshot.get("labels") or {}),
        )


@resource_type(
    "gcp.compute.image",
    resource_type="machine_image",
    service="compute",
    scope="global",
    permissions=("compute.images.list", "compute.images.getIamPolicy"),
)
def collect_images(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """The project's custom images and who may use them (IAM: allUsers / allAuthenticatedUsers is public)."""
    images = ctx.api("compute").images()
    for image in _global(ctx, "images"):
        policy = ctx.execute(images.getIamPolicy(project=ctx.project_id, resource=image["name"]))
        reasons = public_reasons(policy)
        properties = {
            "public": bool(reasons),
            "shared_with": shared_with(policy),
            "created_at": utc_iso(image.get("creationTimestamp")),
            # GCP-specific
            "public_reasons": reasons,
            "family": image.get("family"),
            "kms_key_id": _kms_key(image.get("imageEncryptionKey")),
            "deprecated": (image.get("deprecated") or {}).get("state"),
            "iam_policy": policy,
        }
        yield ResourceRecord(
            resource_type="machine_image",
            native_type="gcp.compute.image",
            region=region,
            native_id=resource_path(image.get("selfLink")) or image["id"],
            name=image.get("name", ""),
            properties=properties,
            raw=image,
            tags=dict(image.get("labels") or {}),
        )

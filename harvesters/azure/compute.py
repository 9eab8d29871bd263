"""Virtual machines (public IPs, disk encryption, managed identity), managed disks and snapshots."""

from __future__ import annotations

from collections.abc import Iterator

from harvesters.azure.common import harvest_errors, in_region, lower_id, props, record, ref_id
from harvesters.azure.session import AzureContext, items, pages
from harvesters.base import ResourceRecord, resource_type

_POWER_STATES = {
    "running": "running",
    "starting": "pending",
    "stopping": "stopping",
    "deallocating": "stopping",
    "stopped": "stopped",
    "deallocated": "stopped",
}


def _power_state(body: dict) -> str:
    statuses = (props(body).get("instanceView") or {}).get("statuses") or []
    for status in statuses:
        code = status.get("code") or ""
        if code.startswith("PowerState/"):
            return _POWER_STATES.get(code.split("/", 1)[1].lower(), "unknown")
    return "unknown"


def _image(storage: dict) -> str | None:
    ref = storage.get("imageReference") or {}
    if ref.get("id"):
        return lower_id(ref["id"])
    parts = [ref.get(k) for k in ("publisher", "offer", "sku", "version")]
    return ":".join(p or "" for p in parts) if any(parts) else None


def _identity(body: dict) -> tuple[str | None, list[str]]:
    identity = body.get("identity") or {}
    kind = identity.get("type")
    if not kind or kind.lower() == "none":
        return None, []
    assigned = sorted(lower_id(k) or "" for k in (identity.get("userAssignedIdentities") or {}))
    return kind, assigned


def _network_maps(ctx: AzureContext, region: str) -> tuple[dict, dict, dict]:
    """NICs by id, public IP addresses by id and subnet NSGs by subnet id, for the region's VMs."""
    client = ctx.client("network")
    nics = {lower_id(n["id"]): n for n in in_region(items(client.network_interfaces.list_all()), region)}
    public_ips = {
        lower_id(p["id"]): props(p).get("ipAddress")
        for p in in_region(items(client.public_ip_addresses.list_all()), region)
    }
    subnet_nsgs = {}
    for vnet in in_region(items(client.virtual_networks.list_all()), region):
        for subnet in props(vnet).get("subnets") or []:
            subnet_nsgs[lower_id(subnet.get("id"))] = ref_id(props(subnet).get("networkSecurityGroup"))
    return nics, public_ips, subnet_nsgs


@resource_type(
    "azure.compute.virtual_machine",
    resource_type="instance",
    service="compute",
    permissions=(
        "Microsoft.Compute/virtualMachines/read",
        "Microsoft.Network/networkInterfaces/read",
        "Microsoft.Network/publicIPAddresses/read",
        "Microsoft.Network/virtualNetworks/read",
    ),
)
@harvest_errors
def collect_virtual_machines(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """Virtual machines with power state, public and private IPs, NSGs, disk encryption and managed identity."""
    nics, public_ips, subnet_nsgs = _network_maps(ctx, region)
    for page in pages(ctx.client("compute").virtual_machines.list_all(status_only="true")):
        for body in in_region(page, region):
            p = props(body)
            storage = p.get("storageProfile") or {}
            os_disk = storage.get("osDisk") or {}
            private_ips: list[str] = []
            addresses: list[str] = []
            groups: list[str] = []
            subnet_id = None
            for ref in (p.get("networkProfile") or {}).get("networkInterfaces") or []:
                nic = nics.get(ref_id(ref))
                if not nic:
                    continue
                if ref_id(props(nic).get("networkSecurityGroup")):
                    groups.append(ref_id(props(nic)["networkSecurityGroup"]))
                for config in props(nic).get("ipConfigurations") or []:
                    cp = props(config)
                    if cp.get("privateIPAddress"):
                        private_ips.append(cp["privateIPAddress"])
                    public = public_ips.get(ref_id(cp.get("publicIPAddress")))
                    if public:
                        addresses.append(public)
                    config_subnet = ref_id(cp.get("subnet"))
                    subnet_id = subnet_id or config_subnet
                    if subnet_nsgs.get(config_subnet):
                        groups.append(subnet_nsgs[config_subnet])
            identity_type, user_identities = _identity(body)
            managed_disk = os_disk.get("managedDisk") or {}
            disk_set = ref_id(managed_disk.get("diskEncryptionSet"))
            linux = (p.get("osProfile") or {}).get("linuxConfiguration") or {}
            yield record(
                "instance",
                "azure.compute.virtual_machine",
                region,
                body,
                {
                    "state": _power_state(body),
                    "instance_type": (p.get("hardwareProfile") or {}).get("vmSize") or "",
                    "image_id": _image(storage),
                    "public_ips": sorted(set(addresses)),
                    "private_ips": private_ips,
                    "has_public_ip": bool(addresses),
                    "security_groups": sorted(set(groups)),
                    "network_id": subnet_id.split("/subnets/")[0] if subnet_id else None,
                    "subnet_id": subnet_id,
                    "identity": identity_type,
                    "metadata_v2_required": None,
                    "launched_at": p.get("timeCreated"),
                    "vm_id": p.get("vmId"),
                    "os_type": os_disk.get("osType"),
                    "managed_identity_type": identity_type,
                    "user_assigned_identities": user_identities,
                    "encryption_at_host": bool((p.get("securityProfile") or {}).get("encryptionAtHost")),
                    "os_disk_id": ref_id(managed_disk),
                    "os_disk_customer_managed_key": bool(disk_set),
                    "disk_encryption_set_id": disk_set,
                    # Azure Disk Encryption (BitLocker / dm-crypt inside the guest), on top of encryption at rest.
                    "ade_enabled": bool((os_disk.get("encryptionSettings") or {}).get("enabled")),
                    "password_authentication_enabled": (
                        not linux.get("disablePasswordAuthentication") if linux else None
                    ),
                    "zones": list(body.get("zones") or []),
                },
            )


def _network_public(p: dict) -> bool:
    """A disk or snapshot can be exported over a SAS URL from anywhere unless network access is restricted."""
    policy = (p.get("networkAccessPolicy") or "AllowAll").lower()
    access = (p.get("publicNetworkAccess") or "Enabled").lower()
    return policy == "allowall" and access == "enabled"


def _customer_key(p: dict) -> str | None:
    encryption = p.get("encryption") or {}
    if "customerkey" in (encryption.get("type") or "").lower():
        return lower_id(encryption.get("diskEncryptionSetId"))
    return None


@resource_type(
    "azure.compute.disk",
    resource_type="volume",
    service="compute",
    permissions=("Microsoft.Compute/disks/read",),
)
@harvest_errors
def collect_disks(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """Managed disks: size, encryption (platform or customer key), attachment and public network access."""
    for page in pages(ctx.client("compute").disks.list()):
        for body in in_region(page, region):
            p = props(body)
            public = _network_public(p)
            yield record(
                "volume",
                "azure.compute.disk",
                region,
                body,
                {
                    "size_gb": p.get("diskSizeGB"),
                    "encrypted": True,  # Azure encrypts every managed disk at rest
                    "kms_key_id": _customer_key(p),
                    "state": (p.get("diskState") or "unknown").lower(),
                    "attached_to": [lower_id(body["managedBy"])] if body.get("managedBy") else [],
                    "public_network_access": public,
                    "encryption_type": (p.get("encryption") or {}).get("type"),
                    "ade_enabled": bool((p.get("encryptionSettingsCollection") or {}).get("enabled")),
                    "network_access_policy": p.get("networkAccessPolicy"),
                    "os_type": p.get("osType"),
                    "sku": (body.get("sku") or {}).get("name"),
                    "created_at": p.get("timeCreated"),
                },
            )


@resource_type(
    "azure.compute.snapshot",
    resource_type="snapshot",
    service="compute",
    permissions=("Microsoft.Compute/snapshots/read",),
)
@harvest_errors
def collect_snapshots(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """Disk snapshots: source disk, encryption and whether they can be exported over the public network."""
    for page in pages(ctx.client("compute").snapshots.list()):
        for body in in_region(page, region):
            p = props(body)
            public = _network_public(p)
            yield record(
                "snapshot",
                "azure.compute.snapshot",
                region,
                body,
                {
                    "volume_id": lower_id((p.get("creationData") or {}).get("sourceResourceId")),
                    "encrypted": True,
                    "public": public,
                    "public_reasons": ["network access policy AllowAll with public network access"] if public else [],
                    "shared_with": [],
                    "created_at": p.get("timeCreated"),
                    "kms_key_id": _customer_key(p),
                    "public_network_access": public,
                    "network_access_policy": p.get("networkAccessPolicy"),
                    "size_gb": p.get("diskSizeGB"),
                },
            )

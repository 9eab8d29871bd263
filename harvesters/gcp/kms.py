"""Cloud KMS crypto keys in every location: state, rotation period, IAM exposure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.base import ResourceRecord, resource_type
from harvesters.gcp.common import public_reasons, seconds_to_days, utc_iso

if TYPE_CHECKING:
    from harvesters.gcp.session import GcpContext  # imports the SDK: type hints only

_STATES = {
    "ENABLED": "enabled",
    "DISABLED": "disabled",
    "DESTROY_SCHEDULED": "pending_deletion",
    "DESTROYED": "destroyed",
    "PENDING_GENERATION": "pending",
    "PENDING_IMPORT": "pending",
}


@resource_type(
    "gcp.kms.crypto_key",
    resource_type="encryption_key",
    service="cloudkms",
    scope="global",
    permissions=(
        "cloudkms.locations.list",
        "cloudkms.keyRings.list",
        "cloudkms.cryptoKeys.list",
        "cloudkms.cryptoKeys.getIamPolicy",
    ),
)
def collect_crypto_keys(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """KMS keys of every key ring in every location (regions, multi-regions, global): rotation and IAM."""
    locations = ctx.api("cloudkms").projects().locations()
    rings = locations.keyRings()  # build each resource once: a build costs ~30 ms
    keys = rings.cryptoKeys()
    for location in ctx.items(locations.list, "locations", name=f"projects/{ctx.project_id}", pageSize=100):
        parent = location["name"]
        for ring in ctx.items(rings.list, "keyRings", parent=parent, pageSize=1000):
            for key in ctx.items(keys.list, "cryptoKeys", parent=ring["name"], pageSize=1000):
                policy = ctx.execute(keys.getIamPolicy(resource=key["name"]))
                reasons = public_reasons(policy)
                primary = key.get("primary") or {}
                template = key.get("versionTemplate") or {}
                period = seconds_to_days(key.get("rotationPeriod"))
                properties = {
                    # Asymmetric keys have no primary version: they are usable while not destroyed.
                    "state": _STATES.get(primary.get("state", ""), "enabled" if not primary else "unknown"),
                    "rotation_enabled": period is not None,
                    "rotation_period_days": period,
                    "customer_managed": True,
                    "expires_at": None,
                    "policy": policy,
                    # GCP-specific
                    "location": location.get("locationId") or parent.rsplit("/", 1)[-1],
                    "key_ring": ring["name"],
                    "purpose": key.get("purpose"),
                    "protection_level": template.get("protectionLevel"),
                    "algorithm": template.get("algorithm"),
                    "next_rotation_at": utc_iso(key.get("nextRotationTime")),
                    "public": bool(reasons),
                    "public_reasons": reasons,
                    "created_at": utc_iso(key.get("createTime")),
                }
                yield ResourceRecord(
                    resource_type="encryption_key",
                    native_type="gcp.kms.crypto_key",
                    region=region,
                    native_id=key["name"],
                    name=key["name"].rsplit("/", 1)[-1],
                    properties=properties,
                    raw=key,
                    tags=dict(key.get("labels") or {}),
                )

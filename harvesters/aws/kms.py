"""KMS keys: state, rotation, key policy, and who manages them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.aws.support import (
    UNAVAILABLE,
    iso,
    json_safe,
    known,
    optional,
    parse_policy,
    public_statements,
    tags_from_list,
)
from harvesters.base import ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext

# KeyState -> the normalized state vocabulary
_STATES = {
    "Enabled": "enabled",
    "Disabled": "disabled",
    "PendingDeletion": "pending_deletion",
    "PendingImport": "pending_import",
    "PendingReplicaDeletion": "pending_deletion",
    "Unavailable": "unavailable",
    "Creating": "creating",
    "Updating": "updating",
}


def _aliases(kms) -> dict[str, list[str]]:
    aliases: dict[str, list[str]] = {}
    for page in kms.get_paginator("list_aliases").paginate():
        for alias in page.get("Aliases", []):
            if alias.get("TargetKeyId"):
                aliases.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
    return aliases


@resource_type(
    "aws.kms.key",
    resource_type="encryption_key",
    service="kms",
    interval_minutes=60,
    permissions=(
        "kms:ListKeys",
        "kms:ListAliases",
        "kms:DescribeKey",
        "kms:GetKeyRotationStatus",
        "kms:GetKeyPolicy",
        "kms:ListResourceTags",
    ),
)
def collect_keys(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """KMS keys (customer- and AWS-managed): state, automatic rotation and its period, key policy, aliases."""
    kms = ctx.client("kms", region)
    aliases = known(optional(lambda: _aliases(kms), what="ListAliases")) or {}
    for page in kms.get_paginator("list_keys").paginate():
        for entry in page.get("Keys", []):
            key_id = entry["KeyId"]
            try:
                meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
            except kms.exceptions.NotFoundException:
                continue  # deleted between the listing and now
            customer_managed = meta.get("KeyManager") == "CUSTOMER"
            # Asymmetric, HMAC, imported and pending-deletion keys cannot rotate: that is "not rotating".
            rotation = optional(
                lambda key_id=key_id: kms.get_key_rotation_status(KeyId=key_id),
                absent=("UnsupportedOperationException", "KMSInvalidStateException"),
                what="GetKeyRotationStatus",
            )
            policy_response = optional(
                lambda key_id=key_id: kms.get_key_policy(KeyId=key_id, PolicyName="default"), what="GetKeyPolicy"
            )
            tags = (
                optional(lambda key_id=key_id: kms.list_resource_tags(KeyId=key_id), what="ListResourceTags")
                if customer_managed
                else None
            )
            policy = parse_policy((known(policy_response) or {}).get("Policy"))
            properties = {
                "state": _STATES.get(meta.get("KeyState", ""), str(meta.get("KeyState", "unknown")).lower()),
                "rotation_enabled": None
                if rotation is UNAVAILABLE
                else bool((rotation or {}).get("KeyRotationEnabled")),
                "rotation_period_days": (known(rotation) or {}).get("RotationPeriodInDays"),
                "customer_managed": customer_managed,
                "expires_at": iso(meta.get("ValidTo")),
                "policy": policy,
                # AWS specifics
                "public": bool(public_statements(policy)),
                "public_reasons": public_statements(policy),
                "key_spec": meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"),
                "key_usage": meta.get("KeyUsage"),
                "origin": meta.get("Origin"),
                "multi_region": meta.get("MultiRegion"),
                "deletion_date": iso(meta.get("DeletionDate")),
                "aliases": sorted(aliases.get(key_id, [])),
                "created_at": iso(meta.get("CreationDate")),
            }
            yield ResourceRecord(
                resource_type="encryption_key",
                native_type="aws.kms.key",
                region=region,
                native_id=meta.get("Arn") or entry.get("KeyArn"),
                name=(sorted(aliases.get(key_id, [])) or [key_id])[0],
                properties=properties,
                raw={"KeyMetadata": json_safe(meta), "Policy": policy},
                tags=tags_from_list((known(tags) or {}).get("Tags"), "TagKey", "TagValue"),
            )

"""KMS keys: state, automatic rotation and who manages them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harvesters.alibaba.common import classified, iso
from harvesters.alibaba.driver import AlibabaContext, pages_by_number, rpc
from harvesters.base import ResourceRecord, resource_type

_STATES = {
    "enabled": "enabled",
    "disabled": "disabled",
    "pendingdeletion": "pending_deletion",
    "pendingimport": "pending_import",
}


def rotation_days(interval: str | None) -> int | None:
    """KMS's "31536000s" -> 365."""
    if not interval:
        return None
    try:
        return int(str(interval).rstrip("s")) // 86400
    except ValueError:
        return None


@resource_type(
    "alibaba.kms.key",
    resource_type="encryption_key",
    service="kms",
    permissions=("kms:ListKeys", "kms:DescribeKey"),
    interval_minutes=60,
)
@classified
def collect_keys(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """KMS keys with their state, automatic rotation and interval, and whether the customer manages them."""
    for page in pages_by_number(ctx, rpc("kms", "ListKeys"), region, ("Keys", "Key"), page_size=100):

        def build(key: Any) -> ResourceRecord:
            meta = ctx.call(rpc("kms", "DescribeKey")(), region, KeyId=key["KeyId"]).get("KeyMetadata") or {}
            rotation = str(meta.get("AutomaticRotation", "Disabled")).lower() == "enabled"
            creator = str(meta.get("Creator") or "")
            properties = {
                "state": _STATES.get(str(meta.get("KeyState", "")).lower(), str(meta.get("KeyState", "")).lower()),
                "rotation_enabled": rotation,
                "rotation_period_days": rotation_days(meta.get("RotationInterval")) if rotation else None,
                # Keys made by a cloud service name it as creator; customer keys name the account.
                "customer_managed": creator.isdigit(),
                "expires_at": iso(meta.get("MaterialExpireTime")),
                "policy": None,
                "key_spec": meta.get("KeySpec"),
                "key_usage": meta.get("KeyUsage"),
                "origin": meta.get("Origin"),
                "deletion_date": iso(meta.get("DeleteDate")),
                "created_at": iso(meta.get("CreationDate")),
            }
            return ResourceRecord(
                resource_type="encryption_key",
                native_type="alibaba.kms.key",
                region=region,
                native_id=meta.get("Arn") or key.get("KeyArn") or key["KeyId"],
                name=meta.get("Description") or key["KeyId"],
                properties=properties,
                raw=meta,
            )

        yield from ctx.map(build, page)

"""OSS buckets: ACL, bucket policy, server-side encryption, logging and versioning."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from harvesters.alibaba.common import classified
from harvesters.alibaba.driver import AlibabaContext, optional
from harvesters.base import GLOBAL, ResourceRecord, resource_type

PUBLIC_ACLS = {
    "public-read": "ACL public-read lets anyone read objects",
    "public-read-write": "ACL public-read-write lets anyone read and write objects",
}


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def policy_public_reasons(policy: dict | None) -> list[str]:
    """Why a bucket policy makes the bucket public: an unconditioned Allow to the principal ``*``."""
    reasons = []
    for statement in _as_list((policy or {}).get("Statement")):
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        if "*" in _as_list(statement.get("Principal")):
            actions = ", ".join(_as_list(statement.get("Action"))) or "any action"
            reasons.append(f"bucket policy allows anyone {actions}")
    return reasons


def policy_requires_https(policy: dict | None) -> bool:
    """A Deny on ``acs:SecureTransport`` false is how an OSS bucket refuses plain HTTP."""
    for statement in _as_list((policy or {}).get("Statement")):
        condition = json.dumps(statement.get("Condition") or {}).lower()
        if statement.get("Effect") == "Deny" and "acs:securetransport" in condition and "false" in condition:
            return True
    return False


def bucket_properties(ctx: AlibabaContext, info: Any) -> tuple[dict, dict]:
    """The normalized properties and the raw settings of one bucket (``info``: oss2's SimplifiedBucketInfo)."""
    bucket = ctx.oss_bucket(info.name, info.location)
    acl = ctx.oss(lambda: bucket.get_bucket_acl()).acl
    policy_text = optional(lambda: ctx.oss(lambda: bucket.get_bucket_policy()).policy)
    policy = json.loads(policy_text) if policy_text else None
    encryption = optional(lambda: ctx.oss(lambda: bucket.get_bucket_encryption()))
    logging = ctx.oss(lambda: bucket.get_bucket_logging())
    versioning = ctx.oss(lambda: bucket.get_bucket_versioning()).status

    reasons = ([PUBLIC_ACLS[acl]] if acl in PUBLIC_ACLS else []) + policy_public_reasons(policy)
    sse = encryption.sse_algorithm if encryption else None
    properties = {
        "public": bool(reasons),
        "public_reasons": reasons,
        "encrypted": bool(sse),
        "kms_key_id": (encryption.kms_master_keyid or None) if encryption else None,
        "versioning_enabled": versioning == "Enabled",
        "logging_enabled": bool(logging.target_bucket),
        "https_only": policy_requires_https(policy),
        "public_access_block": None,
        "policy": policy,
        # Alibaba-specific
        "acl": acl,
        "location": info.location,
        "sse_algorithm": sse,
        "logging_target": logging.target_bucket or None,
        "storage_class": info.storage_class,
    }
    raw = {
        "name": info.name,
        "location": info.location,
        "creation_date": info.creation_date,
        "storage_class": info.storage_class,
        "acl": acl,
        "policy": policy,
        "sse_algorithm": sse,
        "logging": {"target_bucket": logging.target_bucket, "target_prefix": logging.target_prefix},
        "versioning": versioning,
    }
    return properties, raw


@resource_type(
    "alibaba.oss.bucket",
    resource_type="storage_container",
    service="oss",
    scope="global",
    permissions=(
        "oss:ListBuckets",
        "oss:GetBucketAcl",
        "oss:GetBucketPolicy",
        "oss:GetBucketEncryption",
        "oss:GetBucketLogging",
        "oss:GetBucketVersioning",
    ),
)
@classified
def collect_buckets(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """OSS buckets (every location) with ACL, policy, encryption, logging and versioning."""
    service = ctx.oss_service()
    marker = ""
    while True:
        result = ctx.oss(lambda marker=marker: service.list_buckets(marker=marker, max_keys=100))

        def build(info: Any) -> ResourceRecord:
            properties, raw = bucket_properties(ctx, info)
            return ResourceRecord(
                resource_type="storage_container",
                native_type="alibaba.oss.bucket",
                region=GLOBAL,
                native_id=f"acs:oss:*:{ctx.account_id}:{info.name}",
                name=info.name,
                properties=properties,
                raw=raw,
            )

        yield from ctx.map(build, result.buckets)
        if not result.is_truncated or not result.next_marker:
            return
        marker = result.next_marker

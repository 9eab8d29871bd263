"""S3 buckets: where they live, who can read them, and how they are protected.

Buckets are listed per region (``ListBuckets`` with ``BucketRegion``; where an endpoint ignores
that filter the bucket's location decides), so a region's listing is complete for the buckets
of that region and deletion detection stays per region like every other type.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from harvesters.aws.support import (
    UNAVAILABLE,
    global_region,
    json_safe,
    known,
    optional,
    parse_policy,
    public_statements,
)
from harvesters.base import HarvestError, ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext

logger = logging.getLogger(__name__)

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
_GROUP_NAMES = {ALL_USERS: "AllUsers", AUTHENTICATED_USERS: "AuthenticatedUsers", LOG_DELIVERY: "LogDelivery"}
_PAB_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def bucket_region(location: dict | None) -> str:
    """GetBucketLocation's answer as a region name (None means us-east-1, "EU" eu-west-1)."""
    constraint = (location or {}).get("LocationConstraint")
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else constraint


def s3control_client(ctx: AwsContext, region: str) -> Any:
    """An s3control client; with a custom endpoint, the "<account-id>." host prefix is stripped.

    botocore's endpoint rules put the account id in front of the host even with
    ``inject_host_prefix=False``, which cannot resolve against moto or a private endpoint.
    """
    client = ctx.client("s3control", region)
    if ctx.endpoint_url:
        prefix = f"//{ctx.account_id}."

        def strip_account_host(request: Any, **_: Any) -> None:
            if prefix in request.url:
                request.url = request.url.replace(prefix, "//", 1)

        client.meta.events.register("before-sign.s3-control", strip_account_host, unique_id="ic-s3control-host")
    return client


def account_public_access_block(ctx: AwsContext) -> dict | None | object:
    """The account-level public access block configuration, None when not set, UNAVAILABLE when unknown."""
    result = optional(
        lambda: s3control_client(ctx, global_region(ctx)).get_public_access_block(AccountId=ctx.account_id),
        absent=("NoSuchPublicAccessBlockConfiguration",),
        what="s3control GetPublicAccessBlock",
    )
    if result is None or result is UNAVAILABLE:
        return result
    return result.get("PublicAccessBlockConfiguration") or None


def blocks_everything(config: dict | None | object) -> bool | None:
    if config is UNAVAILABLE:
        return None
    return bool(config) and all(config.get(key) for key in _PAB_KEYS)


def _flag(config: Any, key: str) -> bool:
    return isinstance(config, dict) and bool(config.get(key))


def acl_grants(acl: dict | None) -> list[dict]:
    grants = []
    for grant in (acl or {}).get("Grants", []):
        grantee = grant.get("Grantee", {})
        grants.append(
            {
                "grantee_type": grantee.get("Type"),
                "grantee": _GROUP_NAMES.get(grantee.get("URI"), grantee.get("URI"))
                or grantee.get("ID")
                or grantee.get("EmailAddress"),
                "permission": grant.get("Permission"),
            }
        )
    return grants


def requires_https(policy: dict | None) -> bool:
    """Does the bucket policy deny requests made without TLS (aws:SecureTransport = false)?"""
    statements = (policy or {}).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        for operator, block in (statement.get("Condition") or {}).items():
            if not operator.startswith("Bool") or not isinstance(block, dict):
                continue
            for key, value in block.items():
                values = value if isinstance(value, list) else [value]
                if key.lower() == "aws:securetransport" and any(str(v).lower() == "false" for v in values):
                    return True
    return False


def describe_bucket(s3: Any, name: str, account_block: Any) -> tuple[dict, dict, dict] | None:
    """(properties, raw extras, tags) of one bucket, from its sub-resources; None when it no longer exists."""
    acl = optional(lambda: s3.get_bucket_acl(Bucket=name), absent=("NoSuchBucket",), what="GetBucketAcl")
    if acl is None:
        return None
    policy_response = optional(
        lambda: s3.get_bucket_policy(Bucket=name), absent=("NoSuchBucketPolicy",), what="GetBucketPolicy"
    )
    status = optional(
        lambda: s3.get_bucket_policy_status(Bucket=name), absent=("NoSuchBucketPolicy",), what="GetBucketPolicyStatus"
    )
    block_response = optional(
        lambda: s3.get_public_access_block(Bucket=name),
        absent=("NoSuchPublicAccessBlockConfiguration",),
        what="GetPublicAccessBlock",
    )
    encryption = optional(
        lambda: s3.get_bucket_encryption(Bucket=name),
        absent=("ServerSideEncryptionConfigurationNotFoundError",),
        what="GetBucketEncryption",
    )
    versioning_response = optional(lambda: s3.get_bucket_versioning(Bucket=name), what="GetBucketVersioning")
    logging_response = optional(lambda: s3.get_bucket_logging(Bucket=name), what="GetBucketLogging")
    tagging = optional(lambda: s3.get_bucket_tagging(Bucket=name), absent=("NoSuchTagSet",), what="GetBucketTagging")

    policy = parse_policy((known(policy_response) or {}).get("Policy"))
    bucket_block = (
        UNAVAILABLE if block_response is UNAVAILABLE else (block_response or {}).get("PublicAccessBlockConfiguration")
    )
    grants = acl_grants(known(acl))

    # What each level of public access block neutralises (either level is enough).
    ignore_acls = _flag(bucket_block, "IgnorePublicAcls") or _flag(account_block, "IgnorePublicAcls")
    restrict_policy = _flag(bucket_block, "RestrictPublicBuckets") or _flag(account_block, "RestrictPublicBuckets")

    reasons: list[str] = []
    if not ignore_acls:
        for grant in grants:
            if grant["grantee"] in ("AllUsers", "AuthenticatedUsers"):
                reasons.append(f"ACL grants {grant['grantee']} {grant['permission']}")
    if not restrict_policy:
        policy_reasons = public_statements(policy)
        if policy_reasons:
            reasons.extend(policy_reasons)
        elif (known(status) or {}).get("PolicyStatus", {}).get("IsPublic"):
            reasons.append("policy status is public")

    rules = (known(encryption) or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
    versioning = known(versioning_response) or {}
    logging_enabled = (known(logging_response) or {}).get("LoggingEnabled")

    properties = {
        "public": bool(reasons),
        "public_reasons": reasons,
        "encrypted": bool(default.get("SSEAlgorithm")) if encryption is not UNAVAILABLE else False,
        "kms_key_id": default.get("KMSMasterKeyID"),
        "versioning_enabled": versioning.get("Status") == "Enabled",
        "logging_enabled": bool(logging_enabled) if logging_response is not UNAVAILABLE else False,
        "https_only": requires_https(policy) if policy_response is not UNAVAILABLE else None,
        "public_access_block": blocks_everything(bucket_block),
        "policy": policy,
        # AWS specifics
        "encryption_algorithm": default.get("SSEAlgorithm"),
        "bucket_key_enabled": rules[0].get("BucketKeyEnabled") if rules else None,
        "mfa_delete_enabled": versioning.get("MFADelete") == "Enabled",
        "logging_target": (logging_enabled or {}).get("TargetBucket"),
        "acl_grants": grants if acl is not UNAVAILABLE else None,
        "policy_is_public": (known(status) or {}).get("PolicyStatus", {}).get("IsPublic", False)
        if status is not UNAVAILABLE
        else None,
        "bucket_public_access_block": bucket_block if bucket_block is not UNAVAILABLE else None,
        "account_public_access_block": blocks_everything(account_block),
    }
    unavailable = [
        name
        for name, value in (
            ("acl", acl),
            ("policy", policy_response),
            ("policy_status", status),
            ("public_access_block", block_response),
            ("encryption", encryption),
            ("versioning", versioning_response),
            ("logging", logging_response),
            ("tags", tagging),
        )
        if value is UNAVAILABLE
    ]
    raw = {
        "Acl": json_safe(known(acl)),
        "Policy": policy,
        "PolicyStatus": json_safe((known(status) or {}).get("PolicyStatus")),
        "PublicAccessBlockConfiguration": json_safe(known(bucket_block)),
        "ServerSideEncryptionConfiguration": json_safe(
            (known(encryption) or {}).get("ServerSideEncryptionConfiguration")
        ),
        "Versioning": json_safe(versioning),
        "LoggingEnabled": json_safe(logging_enabled),
        "Unavailable": unavailable,
    }
    tags = {t["Key"]: t.get("Value", "") for t in (known(tagging) or {}).get("TagSet", [])}
    return properties, raw, tags


@resource_type(
    "aws.s3.bucket",
    resource_type="storage_container",
    service="s3",
    interval_minutes=30,
    permissions=(
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation",
        "s3:GetBucketAcl",
        "s3:GetBucketPolicy",
        "s3:GetBucketPolicyStatus",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketVersioning",
        "s3:GetBucketLogging",
        "s3:GetBucketTagging",
        "s3:GetAccountPublicAccessBlock",
    ),
)
def collect_buckets(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """S3 buckets of the region: ACL grants, bucket policy and its public status, public access block at
    bucket and account level, default encryption, versioning, access logging; ``public`` with the reasons."""
    lister = ctx.client("s3", global_region(ctx))
    s3 = ctx.client("s3", region)
    account_block: Any = None
    account_block_loaded = False
    for page in lister.get_paginator("list_buckets").paginate(BucketRegion=region):
        for bucket in page.get("Buckets", []):
            name = bucket["Name"]
            home = bucket.get("BucketRegion")
            if not home:
                location = optional(
                    lambda name=name: lister.get_bucket_location(Bucket=name),
                    absent=("NoSuchBucket",),
                    what="GetBucketLocation",
                )
                if location is None:
                    continue  # deleted between the listing and now
                if location is UNAVAILABLE:
                    # Skipping it would make sync conclude it was deleted: fail the listing instead.
                    raise HarvestError(f"cannot tell which region bucket {name} is in (GetBucketLocation refused)")
                home = bucket_region(location)
            if home != region:
                continue
            if not account_block_loaded:
                account_block = account_public_access_block(ctx)
                account_block_loaded = True
            described = describe_bucket(s3, name, account_block)
            if described is None:
                continue  # deleted between the listing and now
            properties, extras, tags = described
            raw = {"Name": name, "CreationDate": json_safe(bucket.get("CreationDate")), "BucketRegion": home}
            raw.update(extras)
            yield ResourceRecord(
                resource_type="storage_container",
                native_type="aws.s3.bucket",
                region=region,
                native_id=f"arn:{ctx.partition}:s3:::{name}",
                name=name,
                properties=properties,
                raw=raw,
                tags=tags,
            )

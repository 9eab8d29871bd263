"""IAM: users, roles, customer-managed policies, groups and the account's own settings (global).

Users, roles, groups and policies come from ``GetAccountAuthorizationDetails`` — one paginated
call that already carries inline policies, attached policies, group membership, trust policies
and policy versions — instead of a handful of calls per identity. Access keys, MFA devices and
console passwords are not in it and are asked per user.

Key age is not stored as a number of days (that would change every day and record a change on
every harvest); ``created_at`` is, and insights compute the age from it (``older-than``).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from harvesters.aws.support import (
    UNAVAILABLE,
    global_region,
    iso,
    json_safe,
    known,
    optional,
    parse_policy,
    tags_from_list,
)
from harvesters.base import GLOBAL, HarvestError, ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext

#: How long to wait for AWS to generate the credential report before giving up on it (seconds).
CREDENTIAL_REPORT_WAIT = 30.0


def _iam(ctx: AwsContext) -> Any:
    return ctx.client("iam", global_region(ctx))


def _details(ctx: AwsContext, kind: str, key: str) -> Iterator[dict]:
    paginator = _iam(ctx).get_paginator("get_account_authorization_details")
    for page in paginator.paginate(Filter=[kind]):
        yield from page.get(key, [])


def _attached(entity: dict) -> list[str]:
    return [policy["PolicyArn"] for policy in entity.get("AttachedManagedPolicies", [])]


def _inline(entity: dict, key: str) -> list[dict]:
    return [
        {"name": policy.get("PolicyName"), "document": parse_policy(policy.get("PolicyDocument"))}
        for policy in entity.get(key, [])
    ]


# --- users --------------------------------------------------------------------------------


def _access_keys(iam: Any, user: str) -> list[dict] | None:
    keys = []
    for page in iam.get_paginator("list_access_keys").paginate(UserName=user):
        for key in page.get("AccessKeyMetadata", []):
            last_used = optional(
                lambda key=key: iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"]),
                what="GetAccessKeyLastUsed",
            )
            usage = (known(last_used) or {}).get("AccessKeyLastUsed", {})
            service = usage.get("ServiceName")
            keys.append(
                {
                    "id": key["AccessKeyId"],
                    "active": key.get("Status") == "Active",
                    "created_at": iso(key.get("CreateDate")),
                    "last_used_at": iso(usage.get("LastUsedDate")),
                    "last_used_service": None if service in (None, "N/A") else service,
                }
            )
    return keys


@resource_type(
    "aws.iam.user",
    resource_type="service_user",
    service="iam",
    scope="global",
    interval_minutes=120,
    permissions=(
        "iam:GetAccountAuthorizationDetails",
        "iam:ListAccessKeys",
        "iam:GetAccessKeyLastUsed",
        "iam:ListMFADevices",
        "iam:GetLoginProfile",
    ),
)
def collect_users(ctx: AwsContext, region: str = GLOBAL) -> Iterator[ResourceRecord]:
    """IAM users: console password, MFA devices, access keys (created, active, last used), attached and
    inline policies, groups."""
    iam = _iam(ctx)
    for user in _details(ctx, "User", "UserDetailList"):
        name = user["UserName"]
        login = optional(lambda name=name: iam.get_login_profile(UserName=name), absent=("NoSuchEntity",))
        mfa = optional(lambda name=name: iam.list_mfa_devices(UserName=name), what="ListMFADevices")
        keys = optional(lambda name=name: _access_keys(iam, name), what="ListAccessKeys")
        devices = [device.get("SerialNumber") for device in (known(mfa) or {}).get("MFADevices", [])]
        properties = {
            "console_access": None if login is UNAVAILABLE else login is not None,
            "mfa_enabled": None if mfa is UNAVAILABLE else bool(devices),
            "access_keys": known(keys),
            "password_last_used_at": iso(user.get("PasswordLastUsed")),
            "attached_policies": _attached(user),
            "inline_policies": _inline(user, "UserPolicyList"),
            "groups": list(user.get("GroupList", [])),
            # AWS specifics
            "mfa_devices": devices,
            "active_access_keys": None if keys is UNAVAILABLE else sum(1 for key in keys if key["active"]),
            "password_reset_required": (known(login) or {}).get("LoginProfile", {}).get("PasswordResetRequired"),
            "permissions_boundary": (user.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            "created_at": iso(user.get("CreateDate")),
            "path": user.get("Path"),
        }
        yield ResourceRecord(
            resource_type="service_user",
            native_type="aws.iam.user",
            region=GLOBAL,
            native_id=user["Arn"],
            name=name,
            properties=properties,
            raw=json_safe(user),
            tags=tags_from_list(user.get("Tags")),
        )


# --- roles ----------------------------------------------------------------------------------


@resource_type(
    "aws.iam.role",
    resource_type="service_role",
    service="iam",
    scope="global",
    interval_minutes=120,
    permissions=("iam:GetAccountAuthorizationDetails",),
)
def collect_roles(ctx: AwsContext, region: str = GLOBAL) -> Iterator[ResourceRecord]:
    """IAM roles: trust policy (who may assume it), attached and inline policies, instance profiles, last use."""
    for role in _details(ctx, "Role", "RoleDetailList"):
        trust = parse_policy(role.get("AssumeRolePolicyDocument"))
        properties = {
            "trust_policy": trust,
            "attached_policies": _attached(role),
            "inline_policies": _inline(role, "RolePolicyList"),
            "keys": [],  # AWS roles have no user-managed keys
            # AWS specifics
            "service_linked": role.get("Path", "").startswith("/aws-service-role/"),
            "trusted_principals": trusted_principals(trust),
            "instance_profiles": [p.get("Arn") for p in role.get("InstanceProfileList", [])],
            "last_used_at": iso((role.get("RoleLastUsed") or {}).get("LastUsedDate")),
            "permissions_boundary": (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            "created_at": iso(role.get("CreateDate")),
            "path": role.get("Path"),
        }
        yield ResourceRecord(
            resource_type="service_role",
            native_type="aws.iam.role",
            region=GLOBAL,
            native_id=role["Arn"],
            name=role["RoleName"],
            properties=properties,
            raw=json_safe(role),
            tags=tags_from_list(role.get("Tags")),
        )


def trusted_principals(trust: dict | None) -> list[str]:
    """Every principal an Allow statement of a trust policy names ("*" included), sorted."""
    found: set[str] = set()
    statements = (trust or {}).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if isinstance(principal, str):
            found.add(principal)
        elif isinstance(principal, dict):
            for value in principal.values():
                found.update(value if isinstance(value, list) else [value])
    return sorted(str(p) for p in found)


# --- customer-managed policies --------------------------------------------------------------


@resource_type(
    "aws.iam.policy",
    resource_type="service_policy",
    service="iam",
    scope="global",
    interval_minutes=120,
    permissions=("iam:GetAccountAuthorizationDetails", "iam:ListPolicyTags"),
)
def collect_policies(ctx: AwsContext, region: str = GLOBAL) -> Iterator[ResourceRecord]:
    """Customer-managed IAM policies with their default version's document and attachment count."""
    iam = _iam(ctx)
    for policy in _details(ctx, "LocalManagedPolicy", "Policies"):
        default = next((v for v in policy.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), {})
        tags = optional(lambda policy=policy: iam.list_policy_tags(PolicyArn=policy["Arn"]), what="ListPolicyTags")
        properties = {
            "document": parse_policy(default.get("Document")) or {},
            "attached_count": policy.get("AttachmentCount"),
            "customer_managed": True,
            # AWS specifics
            "default_version_id": policy.get("DefaultVersionId"),
            "attachable": policy.get("IsAttachable"),
            "allows_admin": allows_full_admin(parse_policy(default.get("Document"))),
            "updated_at": iso(policy.get("UpdateDate")),
            "path": policy.get("Path"),
        }
        raw = json_safe({k: v for k, v in policy.items() if k != "PolicyVersionList"})
        raw["DefaultVersion"] = json_safe(default)
        yield ResourceRecord(
            resource_type="service_policy",
            native_type="aws.iam.policy",
            region=GLOBAL,
            native_id=policy["Arn"],
            name=policy.get("PolicyName") or policy["Arn"].rsplit("/", 1)[-1],  # moto omits PolicyName
            properties=properties,
            raw=raw,
            tags=tags_from_list((known(tags) or {}).get("Tags")),
        )


def allows_full_admin(document: dict | None) -> bool:
    """Does a statement Allow "*" actions on "*" resources (the CIS "full administrative privileges" check)?"""
    statements = (document or {}).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = actions if isinstance(actions, list) else [actions]
        resources = resources if isinstance(resources, list) else [resources]
        if "*" in actions and "*" in resources:
            return True
    return False


# --- groups -----------------------------------------------------------------------------------


@resource_type(
    "aws.iam.group",
    resource_type="service_group",
    service="iam",
    scope="global",
    interval_minutes=120,
    permissions=("iam:GetAccountAuthorizationDetails", "iam:GetGroup"),
)
def collect_groups(ctx: AwsContext, region: str = GLOBAL) -> Iterator[ResourceRecord]:
    """IAM groups: members, attached and inline policies."""
    iam = _iam(ctx)
    for group in _details(ctx, "Group", "GroupDetailList"):
        name = group["GroupName"]
        members: list[str] = []
        try:
            for page in iam.get_paginator("get_group").paginate(GroupName=name):
                members.extend(user["UserName"] for user in page.get("Users", []))
        except iam.exceptions.NoSuchEntityException:
            continue  # deleted between the listing and now
        properties = {
            "members": sorted(members),
            "attached_policies": _attached(group),
            # AWS specifics
            "inline_policies": _inline(group, "GroupPolicyList"),
            "created_at": iso(group.get("CreateDate")),
            "path": group.get("Path"),
        }
        yield ResourceRecord(
            resource_type="service_group",
            native_type="aws.iam.group",
            region=GLOBAL,
            native_id=group["Arn"],
            name=name,
            properties=properties,
            raw=json_safe(group),
        )


# --- the account ------------------------------------------------------------------------------


def credential_report(iam: Any, wait: float = CREDENTIAL_REPORT_WAIT) -> list[dict[str, str]]:
    """The IAM credential report as rows (generating it when needed, polling until AWS has it)."""
    deadline = time.monotonic() + wait
    delay = 0.2
    not_ready = (
        iam.exceptions.CredentialReportNotReadyException,
        iam.exceptions.CredentialReportNotPresentException,
        iam.exceptions.CredentialReportExpiredException,
    )
    while True:
        # Generating is cheap and idempotent: AWS reuses a report younger than four hours.
        iam.generate_credential_report()
        try:
            content = iam.get_credential_report()["Content"]
            break
        except not_ready:
            if time.monotonic() >= deadline:
                raise HarvestError(f"IAM credential report not ready after {wait:.0f}s") from None
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    return list(csv.DictReader(io.StringIO(text)))


def _report_bool(value: str | None) -> bool | None:
    if value is None or value in ("N/A", "not_supported", ""):
        return None
    return value.lower() == "true"


def _report_time(value: str | None) -> str | None:
    if value is None or value in ("N/A", "not_supported", "no_information", ""):
        return None
    return value


def root_credentials(row: dict[str, str]) -> tuple[bool | None, bool, str | None]:
    """(MFA active, access keys active, last used) from the credential report's ``<root_account>`` row."""
    keys = bool(_report_bool(row.get("access_key_1_active")) or _report_bool(row.get("access_key_2_active")))
    last_used = [
        _report_time(row.get(column))
        for column in ("password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date")
    ]
    return _report_bool(row.get("mfa_active")), keys, max((t for t in last_used if t), default=None)


def normalize_password_policy(policy: dict | None) -> dict | None:
    if not policy:
        return None
    return {
        "min_length": policy.get("MinimumPasswordLength"),
        "require_symbols": bool(policy.get("RequireSymbols")),
        "require_numbers": bool(policy.get("RequireNumbers")),
        "require_uppercase": bool(policy.get("RequireUppercaseCharacters")),
        "require_lowercase": bool(policy.get("RequireLowercaseCharacters")),
        "max_age_days": policy.get("MaxPasswordAge"),
        "reuse_prevention": policy.get("PasswordReusePrevention"),
        "allow_users_to_change": policy.get("AllowUsersToChangePassword"),
        "hard_expiry": policy.get("HardExpiry"),
    }


@resource_type(
    "aws.iam.account",
    resource_type="cloud_account",
    service="iam",
    scope="global",
    interval_minutes=240,
    permissions=(
        "iam:GetAccountPasswordPolicy",
        "iam:GenerateCredentialReport",
        "iam:GetCredentialReport",
        "iam:GetAccountSummary",
        "iam:ListAccountAliases",
        "s3:GetAccountPublicAccessBlock",
    ),
)
def collect_account(ctx: AwsContext, region: str = GLOBAL) -> Iterator[ResourceRecord]:
    """The AWS account itself: password policy, root MFA, root access keys and last use (credential
    report, falling back to the account summary), account summary, S3 account-level public access block."""
    from harvesters.aws.s3 import account_public_access_block, blocks_everything

    iam = _iam(ctx)
    password_policy = optional(
        lambda: iam.get_account_password_policy(), absent=("NoSuchEntity",), what="GetAccountPasswordPolicy"
    )
    summary = (known(optional(lambda: iam.get_account_summary(), what="GetAccountSummary")) or {}).get("SummaryMap", {})
    aliases = known(optional(lambda: iam.list_account_aliases(), what="ListAccountAliases")) or {}
    try:
        report = optional(lambda: credential_report(iam), what="credential report")
    except HarvestError:  # not generated in time: the account summary still answers the root questions
        report = UNAVAILABLE
    root = next((row for row in known(report) or [] if row.get("user") == "<root_account>"), None)

    if root is not None:
        root_mfa, root_keys, root_last_used = root_credentials(root)
    else:  # no root row (some endpoints): the account summary still knows MFA and root keys
        root_mfa = bool(summary["AccountMFAEnabled"]) if "AccountMFAEnabled" in summary else None
        root_keys = bool(summary["AccountAccessKeysPresent"]) if "AccountAccessKeysPresent" in summary else None
        root_last_used = None
    account_block = account_public_access_block(ctx)

    properties = {
        "password_policy": normalize_password_policy((known(password_policy) or {}).get("PasswordPolicy")),
        "root_mfa_enabled": root_mfa,
        "root_access_keys_present": root_keys,
        "root_last_used_at": root_last_used,
        "public_access_block": blocks_everything(account_block),
        "iam_bindings": [],  # an AWS account has no account-wide role bindings
        "security_center": None,
        # AWS specifics
        "password_policy_present": None if password_policy is UNAVAILABLE else password_policy is not None,
        "account_alias": (aliases.get("AccountAliases") or [None])[0],
        "summary": {key: summary[key] for key in sorted(summary)} if summary else None,
        "credential_report_available": report is not UNAVAILABLE and report is not None,
    }
    raw = {
        "PasswordPolicy": json_safe((known(password_policy) or {}).get("PasswordPolicy")),
        "SummaryMap": json_safe(summary),
        "RootCredentials": root,
        "AccountAliases": aliases.get("AccountAliases", []),
    }
    yield ResourceRecord(
        resource_type="cloud_account",
        native_type="aws.iam.account",
        region=GLOBAL,
        native_id=f"arn:{ctx.partition}:iam::{ctx.account_id}:root",
        name=properties["account_alias"] or ctx.account_id,
        properties=properties,
        raw=raw,
    )

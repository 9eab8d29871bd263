"""RAM: users (console login, MFA, access keys and their last use), custom policies, account settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from harvesters.alibaba.common import classified, iso, listed
from harvesters.alibaba.driver import AlibabaContext, optional, pages_by_marker, rpc
from harvesters.base import GLOBAL, ResourceRecord, resource_type


def _access_keys(ctx: AlibabaContext, user_name: str) -> list[dict]:
    keys = listed(ctx.call(rpc("ram", "ListAccessKeys")(), UserName=user_name).get("AccessKeys"), "AccessKey")
    result = []
    for key in keys:
        last_used = ctx.call(
            rpc("ram", "GetAccessKeyLastUsed")(), UserName=user_name, UserAccessKeyId=key["AccessKeyId"]
        )
        result.append(
            {
                "id": key["AccessKeyId"],
                "active": key.get("Status") == "Active",
                "created_at": iso(key.get("CreateDate")),
                "last_used_at": iso((last_used.get("AccessKeyLastUsed") or {}).get("LastUsedDate")),
            }
        )
    return result


@resource_type(
    "alibaba.ram.user",
    resource_type="service_user",
    service="ram",
    scope="global",
    permissions=(
        "ram:ListUsers",
        "ram:GetUser",
        "ram:GetLoginProfile",
        "ram:GetUserMFAInfo",
        "ram:ListAccessKeys",
        "ram:GetAccessKeyLastUsed",
        "ram:ListPoliciesForUser",
        "ram:ListGroupsForUser",
    ),
)
@classified
def collect_users(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """RAM users with console login, MFA device, access keys (and their last use), policies and groups."""
    for page in pages_by_marker(ctx, rpc("ram", "ListUsers"), "cn-hangzhou", ("Users", "User")):

        def build(summary: Any) -> ResourceRecord:
            name = summary["UserName"]
            user = ctx.call(rpc("ram", "GetUser")(), UserName=name).get("User", {})
            login = optional(lambda name=name: ctx.call(rpc("ram", "GetLoginProfile")(), UserName=name))
            mfa = optional(lambda name=name: ctx.call(rpc("ram", "GetUserMFAInfo")(), UserName=name))
            policies = listed(ctx.call(rpc("ram", "ListPoliciesForUser")(), UserName=name).get("Policies"), "Policy")
            groups = listed(ctx.call(rpc("ram", "ListGroupsForUser")(), UserName=name).get("Groups"), "Group")
            console = login is not None
            login_profile = (login or {}).get("LoginProfile", {})
            properties = {
                "console_access": console,
                "mfa_enabled": bool(mfa and mfa.get("MFADevice")),
                "access_keys": _access_keys(ctx, name),
                "password_last_used_at": iso(user.get("LastLoginDate")) if console else None,
                "attached_policies": [p["PolicyName"] for p in policies],
                "inline_policies": [],  # RAM has no inline policies
                "groups": [g["GroupName"] for g in groups],
                "policy_refs": [{"name": p["PolicyName"], "type": p.get("PolicyType")} for p in policies],
                "mfa_bind_required": login_profile.get("MFABindRequired"),
                "created_at": iso(user.get("CreateDate") or summary.get("CreateDate")),
            }
            return ResourceRecord(
                resource_type="service_user",
                native_type="alibaba.ram.user",
                region=GLOBAL,
                native_id=f"acs:ram::{ctx.account_id}:user/{name}",
                name=name,
                properties=properties,
                raw={"user": user, "login_profile": login_profile or None, "mfa": (mfa or {}).get("MFADevice")},
            )

        yield from ctx.map(build, page)


def _statements(document: dict) -> list[dict]:
    statements = document.get("Statement") or []
    return statements if isinstance(statements, list) else [statements]


def is_admin_like(document: dict) -> bool:
    """An Allow of every action on every resource (``*`` / ``*``), with no condition."""
    for statement in _statements(document):
        actions = statement.get("Action")
        resources = statement.get("Resource")
        actions = actions if isinstance(actions, list) else [actions]
        resources = resources if isinstance(resources, list) else [resources]
        unconditioned = not statement.get("Condition")
        if statement.get("Effect") == "Allow" and "*" in actions and "*" in resources and unconditioned:
            return True
    return False


@resource_type(
    "alibaba.ram.policy",
    resource_type="service_policy",
    service="ram",
    scope="global",
    permissions=("ram:ListPolicies", "ram:GetPolicy"),
    interval_minutes=60,
)
@classified
def collect_policies(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """Custom RAM policies with their default version's document and an admin-like (*/*) flag."""
    for page in pages_by_marker(
        ctx, rpc("ram", "ListPolicies"), "cn-hangzhou", ("Policies", "Policy"), PolicyType="Custom"
    ):

        def build(summary: Any) -> ResourceRecord:
            body = ctx.call(rpc("ram", "GetPolicy")(), PolicyName=summary["PolicyName"], PolicyType="Custom")
            version = body.get("DefaultPolicyVersion") or {}
            text = version.get("PolicyDocument") or "{}"
            document: dict[str, Any] = json.loads(text) if isinstance(text, str) else text
            return ResourceRecord(
                resource_type="service_policy",
                native_type="alibaba.ram.policy",
                region=GLOBAL,
                native_id=f"acs:ram::{ctx.account_id}:policy/{summary['PolicyName']}",
                name=summary["PolicyName"],
                properties={
                    "document": document,
                    "attached_count": summary.get("AttachmentCount"),
                    "customer_managed": True,
                    "admin_like": is_admin_like(document),
                    "default_version": version.get("VersionId") or summary.get("DefaultVersion"),
                    "description": summary.get("Description") or None,
                },
                raw={**summary, "DefaultPolicyVersion": version},
            )

        yield from ctx.map(build, page)


def normalize_password_policy(policy: dict) -> dict:
    max_age = int(policy.get("MaxPasswordAge") or 0)
    return {
        "min_length": policy.get("MinimumPasswordLength"),
        "require_symbols": bool(policy.get("RequireSymbols")),
        "require_numbers": bool(policy.get("RequireNumbers")),
        "require_uppercase": bool(policy.get("RequireUppercaseCharacters")),
        "require_lowercase": bool(policy.get("RequireLowercaseCharacters")),
        "max_age_days": max_age or None,  # 0: passwords never expire
        "reuse_prevention": int(policy.get("PasswordReusePrevention") or 0),
        "max_login_attempts": policy.get("MaxLoginAttemps"),
    }


@resource_type(
    "alibaba.ram.account",
    resource_type="cloud_account",
    service="ram",
    scope="global",
    permissions=("ram:GetPasswordPolicy", "ram:GetSecurityPreference"),
    interval_minutes=60,
)
@classified
def collect_account(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """The account itself: the RAM password policy and security preferences."""
    policy = ctx.call(rpc("ram", "GetPasswordPolicy")()).get("PasswordPolicy") or {}
    preference = ctx.call(rpc("ram", "GetSecurityPreference")()).get("SecurityPreference") or {}
    yield ResourceRecord(
        resource_type="cloud_account",
        native_type="alibaba.ram.account",
        region=GLOBAL,
        native_id=ctx.account_id,
        name=ctx.account_id,
        properties={
            "password_policy": normalize_password_policy(policy),
            # The root (main) account's MFA and keys are not visible through RAM.
            "root_mfa_enabled": None,
            "root_access_keys_present": None,
            "root_last_used_at": None,
            "public_access_block": None,
            "iam_bindings": [],
            "security_center": None,
            "security_preference": preference,
        },
        raw={"PasswordPolicy": policy, "SecurityPreference": preference},
    )

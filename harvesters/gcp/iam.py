"""IAM service accounts with their user-managed keys (age) and the project roles granted to them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.base import ResourceRecord, resource_type
from harvesters.gcp.common import age_days, bindings, utc_iso

if TYPE_CHECKING:
    from harvesters.gcp.session import GcpContext  # imports the SDK: type hints only

_DEFAULT_ACCOUNT_SUFFIXES = ("-compute@developer.gserviceaccount.com", "@appspot.gserviceaccount.com")
_NEVER_EXPIRES = "9999-12-31T23:59:59Z"


def project_policy(ctx: GcpContext) -> dict:
    """The project's IAM policy (version 3: conditional bindings and audit configs included)."""
    request = (
        ctx.api("cloudresourcemanager")
        .projects()
        .getIamPolicy(resource=f"projects/{ctx.project_id}", body={"options": {"requestedPolicyVersion": 3}})
    )
    return ctx.execute(request)


@resource_type(
    "gcp.iam.service_account",
    resource_type="service_role",
    service="iam",
    scope="global",
    permissions=("iam.serviceAccounts.list", "iam.serviceAccountKeys.list", "resourcemanager.projects.getIamPolicy"),
)
def collect_service_accounts(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """Service accounts: user-managed keys and their age, project roles granted, default accounts."""
    iam = ctx.api("iam")
    roles_of: dict[str, list[str]] = {}
    for binding in bindings(project_policy(ctx)):
        for member in binding["members"]:
            roles_of.setdefault(member, []).append(binding["role"])
    accounts = iam.projects().serviceAccounts()
    keys_api = accounts.keys()  # build a resource once: each build costs ~30 ms
    for account in ctx.items(accounts.list, "accounts", name=f"projects/{ctx.project_id}", pageSize=100):
        response = ctx.execute(keys_api.list(name=account["name"], keyTypes="USER_MANAGED"))
        keys = [
            {
                "id": key["name"].rsplit("/", 1)[-1],
                "created_at": utc_iso(key.get("validAfterTime")),
                "expires_at": None
                if key.get("validBeforeTime") == _NEVER_EXPIRES
                else utc_iso(key.get("validBeforeTime")),
                "age_days": age_days(key.get("validAfterTime")),
                "disabled": bool(key.get("disabled")),
            }
            for key in response.get("keys") or []
        ]
        email = account.get("email", "")
        active_ages = [k["age_days"] for k in keys if not k["disabled"] and k["age_days"] is not None]
        properties = {
            "trust_policy": None,
            "attached_policies": sorted(roles_of.get(f"serviceAccount:{email}", [])),
            "inline_policies": [],
            "keys": keys,
            # GCP-specific
            "email": email,
            "disabled": bool(account.get("disabled")),
            "is_default": email.endswith(_DEFAULT_ACCOUNT_SUFFIXES),
            "user_managed_key_count": len(keys),
            "oldest_key_age_days": max(active_ages) if active_ages else None,
        }
        yield ResourceRecord(
            resource_type="service_role",
            native_type="gcp.iam.service_account",
            region=region,
            native_id=account["name"],
            name=email or account["name"],
            properties=properties,
            raw=account,
        )

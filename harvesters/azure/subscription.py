"""The subscription itself (Defender plans, security contacts, auto-provisioning, role assignments) and its
resource groups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from harvesters.azure.authorization import role_assignments, role_catalog, role_guid
from harvesters.azure.common import harvest_errors, location, props, record
from harvesters.azure.session import AzureContext, items, pages, wire
from harvesters.base import GLOBAL, ResourceRecord, resource_type


def security_center(ctx: AzureContext) -> dict:
    """Defender plans and their tiers, security contacts, auto-provisioning of the monitoring agent."""
    security = ctx.client("security")
    pricing_list = wire(security.pricings.list(f"subscriptions/{ctx.account_id}"))
    plans = {p.get("name"): props(p).get("pricingTier") for p in pricing_list.get("value") or []}
    contacts = [props(c) | {"name": c.get("name")} for c in items(security.security_contacts.list())]
    provisioning = {
        a.get("name"): props(a).get("autoProvision") for a in items(security.auto_provisioning_settings.list())
    }
    emails = sorted(
        {e.strip() for c in contacts for e in (c.get("emails") or c.get("email") or "").split(";") if e.strip()}
    )
    return {
        "plans": plans,
        "standard_plans": sorted(name for name, tier in plans.items() if (tier or "").lower() == "standard"),
        "free_plans": sorted(name for name, tier in plans.items() if (tier or "").lower() != "standard"),
        "contact_emails": emails,
        "alert_notifications": any(
            (c.get("alertNotifications") or {}).get("state", c.get("alertNotifications")) in ("On", True)
            for c in contacts
        ),
        "notify_owners": any(
            "Owner" in ((c.get("notificationsByRole") or {}).get("roles") or [])
            and (c.get("notificationsByRole") or {}).get("state") == "On"
            for c in contacts
        ),
        "auto_provisioning": provisioning,
        "auto_provisioning_enabled": any((v or "").lower() == "on" for v in provisioning.values()),
    }


def iam_bindings(ctx: AzureContext) -> list[dict]:
    """Role assignments grouped by (role, scope): the principals holding each role."""
    catalog = role_catalog(ctx)
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    guids: dict[tuple[str, str], str] = {}
    for assignment in role_assignments(ctx):
        guid = role_guid(assignment.get("roleDefinitionId"))
        key = (catalog.get(guid, {}).get("name") or guid, (assignment.get("scope") or "").lower())
        guids[key] = guid
        grouped[key].append(f"{assignment.get('principalType') or 'Unknown'}:{assignment.get('principalId')}")
    return [
        {
            "role": role,
            "scope": scope,
            "members": sorted(members),
            "owner_like": catalog.get(guids[(role, scope)], {}).get("owner_like", False),
        }
        for (role, scope), members in sorted(grouped.items())
    ]


@resource_type(
    "azure.subscription.subscription",
    resource_type="cloud_account",
    service="subscription",
    scope="global",
    permissions=(
        "Microsoft.Resources/subscriptions/read",
        "Microsoft.Security/pricings/read",
        "Microsoft.Security/securityContacts/read",
        "Microsoft.Security/autoProvisioningSettings/read",
        "Microsoft.Authorization/roleAssignments/read",
    ),
)
@harvest_errors
def collect_subscription(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """The subscription: state, Defender for Cloud plans, security contacts, auto-provisioning, role assignments."""
    body = wire(ctx.client("subscriptions").subscriptions.get(ctx.account_id))
    body.setdefault("name", body.get("displayName") or ctx.account_id)
    body["name"] = body.get("displayName") or body["name"]
    center = security_center(ctx)
    yield record(
        "cloud_account",
        "azure.subscription.subscription",
        GLOBAL,
        body,
        {
            "password_policy": None,  # Entra ID's, not the subscription's
            "root_mfa_enabled": None,
            "root_access_keys_present": None,
            "root_last_used_at": None,
            "public_access_block": None,
            "iam_bindings": iam_bindings(ctx),
            "security_center": center,
            "state": body.get("state"),
            "tenant_id": body.get("tenantId") or ctx.tenant_id,
            "defender_standard_plans": center["standard_plans"],
            "security_contact_emails": center["contact_emails"],
            "auto_provisioning_enabled": center["auto_provisioning_enabled"],
        },
    )


@resource_type(
    "azure.resources.resource_group",
    resource_type="resource_group",
    service="resources",
    scope="global",
    permissions=("Microsoft.Resources/subscriptions/resourceGroups/read",),
)
@harvest_errors
def collect_resource_groups(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """Resource groups of the subscription with their location and tags."""
    for page in pages(ctx.client("resource").resource_groups.list()):
        for body in page:
            yield record(
                "resource_group",
                "azure.resources.resource_group",
                GLOBAL,
                body,
                {
                    "location": location(body) or None,
                    "provisioning_state": props(body).get("provisioningState"),
                    "managed_by": body.get("managedBy"),
                },
            )

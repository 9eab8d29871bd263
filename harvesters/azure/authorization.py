"""Role assignments and custom role definitions (owner-like custom roles)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from harvesters.azure.common import harvest_errors, lower_id, props, record
from harvesters.azure.session import AzureContext, items, pages
from harvesters.base import GLOBAL, ResourceRecord, resource_type

#: Built-in roles that can do everything, or grant themselves everything.
OWNER_LIKE_BUILTIN = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}
BUILTIN_NAMES = {
    **OWNER_LIKE_BUILTIN,
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
}


def role_guid(role_definition_id: str | None) -> str:
    return (role_definition_id or "").rstrip("/").rsplit("/", 1)[-1].lower()


def role_assignments(ctx: AzureContext) -> list[dict]:
    """The subscription's role assignments (at it and below) as their ``properties`` plus ``id``."""
    return [
        props(a) | {"id": lower_id(a.get("id"))}
        for a in items(ctx.client("authorization").role_assignments.list_for_subscription())
    ]


def role_catalog(ctx: AzureContext) -> dict[str, dict]:
    """Role definition GUID -> {name, custom, owner_like} for every role the subscription sees."""
    catalog = {
        guid: {"name": name, "custom": False, "owner_like": guid in OWNER_LIKE_BUILTIN}
        for guid, name in BUILTIN_NAMES.items()
    }
    for definition in items(ctx.client("authorization").role_definitions.list(ctx.subscription_scope)):
        p = props(definition)
        catalog[role_guid(definition.get("id"))] = {
            "name": p.get("roleName") or definition.get("name"),
            "custom": (p.get("type") or "").lower() == "customrole",
            "owner_like": owner_like(definition, ctx.subscription_scope),
        }
    return catalog


def owner_like(definition: dict, subscription_scope: str) -> bool:
    """A role with ``*`` actions, assignable at the root or the subscription, that may also manage access
    (Owner, yes; Contributor, whose notActions exclude Microsoft.Authorization writes, no)."""
    p = props(definition)
    permissions = p.get("permissions") or []
    actions = {a for perm in permissions for a in perm.get("actions") or []}
    excluded = [a.lower() for perm in permissions for a in perm.get("notActions") or []]
    scopes = {s.rstrip("/").lower() or "/" for s in p.get("assignableScopes") or []}
    manages_access = not any(a.startswith("microsoft.authorization/") for a in excluded)
    return "*" in actions and manages_access and bool(scopes & {"/", subscription_scope.lower()})


@resource_type(
    "azure.authorization.role_definition",
    resource_type="service_policy",
    service="authorization",
    scope="global",
    permissions=("Microsoft.Authorization/roleDefinitions/read", "Microsoft.Authorization/roleAssignments/read"),
)
@harvest_errors
def collect_custom_roles(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """Custom role definitions with their permissions, how many assignments use them, and owner-like ones."""
    used = Counter(role_guid(a.get("roleDefinitionId")) for a in role_assignments(ctx))
    client = ctx.client("authorization")
    for page in pages(client.role_definitions.list(ctx.subscription_scope, filter="type eq 'CustomRole'")):
        for body in page:
            p = props(body)
            if (p.get("type") or "").lower() != "customrole":  # the filter is a hint some endpoints ignore
                continue
            yield record(
                "service_policy",
                "azure.authorization.role_definition",
                GLOBAL,
                body,
                {
                    "document": {
                        "roleName": p.get("roleName"),
                        "permissions": p.get("permissions") or [],
                        "assignableScopes": p.get("assignableScopes") or [],
                    },
                    "attached_count": used.get(role_guid(body.get("id")), 0),
                    "customer_managed": True,
                    "role_name": p.get("roleName"),
                    "owner_like": owner_like(body, ctx.subscription_scope),
                    "assignable_scopes": p.get("assignableScopes") or [],
                },
            )


@resource_type(
    "azure.authorization.role_assignment",
    resource_type="service_policy",
    service="authorization",
    scope="global",
    permissions=("Microsoft.Authorization/roleAssignments/read", "Microsoft.Authorization/roleDefinitions/read"),
)
@harvest_errors
def collect_role_assignments(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """Role assignments at the subscription and below: who holds which role where, and owner-like grants."""
    catalog = role_catalog(ctx)
    for page in pages(ctx.client("authorization").role_assignments.list_for_subscription()):
        for body in page:
            p = props(body)
            guid = role_guid(p.get("roleDefinitionId"))
            role = catalog.get(guid, {"name": guid, "custom": False, "owner_like": False})
            yield record(
                "service_policy",
                "azure.authorization.role_assignment",
                GLOBAL,
                body,
                {
                    "document": {
                        "roleDefinitionId": p.get("roleDefinitionId"),
                        "roleName": role["name"],
                        "principalId": p.get("principalId"),
                        "principalType": p.get("principalType"),
                        "scope": p.get("scope"),
                        "condition": p.get("condition"),
                    },
                    "attached_count": None,
                    "customer_managed": role["custom"],
                    "role_name": role["name"],
                    "owner_like": role["owner_like"],
                    "principal_id": p.get("principalId"),
                    "principal_type": p.get("principalType"),
                    "scope": (p.get("scope") or "").lower(),
                    "subscription_wide": (p.get("scope") or "").rstrip("/").lower() == ctx.subscription_scope.lower(),
                },
            )

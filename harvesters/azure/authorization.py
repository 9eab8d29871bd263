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
    return [
        props(a) | {"id": lower_id(a.get("id"))}
        for a in items(ctx.client("authorization").role_assignments.list_for_subscription())
    ]


def role_names(ctx: AzureContext) -> tuple[dict[str, str], set[str]]:
    """Role definition GUID -> role name as the subscription sees them, and the GUIDs of owner-like roles."""
    names = dict(BUILTIN_NAMES)
    powerful = set(OWNER_LIKE_BUILTIN)
    for definition in items(ctx.client("authorization").role_definitions.list(ctx.subscription_scope)):
        guid = role_guid(definition.get("id"))
        names[guid] = props(definition).get("roleName") or definition.get("name")
        if owner_like(definition, ctx.subscription_scope):
            powerful.add(guid)
    return names, powerful


def owner_like(definition: dict, subscription_scope: str) -> bool:
    """A role with ``*`` actions assignable at the root or the subscription (CIS "no custom owner roles")."""
    p = props(definition)
    actions = {a for perm in p.get("permissions") or [] for a in perm.get("actions") or []}
    scopes = {s.rstrip("/").lower() or "/" for s in p.get("assignableScopes") or []}
    return "*" in actions and bool(scopes & {"/", subscription_scope.lower()})


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

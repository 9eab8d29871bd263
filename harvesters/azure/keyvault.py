"""Key vaults (soft delete, purge protection, RBAC, network rules), their keys (expiry, rotation) and secrets."""

from __future__ import annotations

from collections.abc import Iterator

from harvesters.azure.common import (
    duration_days,
    enabled_flag,
    epoch_to_iso,
    harvest_errors,
    in_region,
    lower_id,
    props,
    record,
)
from harvesters.azure.session import AzureContext, items, pages, parse_id
from harvesters.base import ResourceRecord, resource_type


def _vaults(ctx: AzureContext, region: str) -> Iterator[dict]:
    for page in pages(ctx.client("keyvault").vaults.list_by_subscription()):
        yield from in_region(page, region)


@resource_type(
    "azure.keyvault.vault",
    resource_type="key_vault",
    service="keyvault",
    permissions=("Microsoft.KeyVault/vaults/read",),
)
@harvest_errors
def collect_vaults(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """Key vaults: soft delete, purge protection, RBAC or access policies, public network access and firewall."""
    for body in _vaults(ctx, region):
        p = props(body)
        acls = p.get("networkAcls") or {}
        public_access = enabled_flag(p.get("publicNetworkAccess") or "Enabled")
        yield record(
            "key_vault",
            "azure.keyvault.vault",
            region,
            body,
            {
                # Soft delete is on by default (and cannot be turned off) since 2020: absent means on.
                "soft_delete_enabled": p.get("enableSoftDelete") is not False,
                "soft_delete_retention_days": p.get("softDeleteRetentionInDays"),
                "purge_protection_enabled": bool(p.get("enablePurgeProtection")),
                "rbac_enabled": bool(p.get("enableRbacAuthorization")),
                "public_network_access": public_access,
                "network_default_action": (acls.get("defaultAction") or "Allow").lower(),
                "allowed_ip_ranges": [r.get("value") for r in acls.get("ipRules") or []],
                "access_policy_count": len(p.get("accessPolicies") or []),
                "sku": (p.get("sku") or {}).get("name"),
                "vault_uri": p.get("vaultUri"),
            },
        )


def _rotation(key_props: dict) -> tuple[bool, int | None]:
    policy = key_props.get("rotationPolicy") or {}
    for action in policy.get("lifetimeActions") or []:
        if ((action.get("action") or {}).get("type") or "").lower() == "rotate":
            trigger = action.get("trigger") or {}
            return True, duration_days(trigger.get("timeAfterCreate")) or duration_days(
                (policy.get("attributes") or {}).get("expiryTime")
            )
    return False, None


@resource_type(
    "azure.keyvault.key",
    resource_type="encryption_key",
    service="keyvault",
    permissions=("Microsoft.KeyVault/vaults/read", "Microsoft.KeyVault/vaults/keys/read"),
)
@harvest_errors
def collect_keys(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """Keys of every vault: enabled, expiry date and automatic rotation policy."""
    client = ctx.client("keyvault")
    for vault in _vaults(ctx, region):
        group = parse_id(vault["id"])["resource_group"]
        for key in items(client.keys.list(group, vault["name"])):
            p = props(key)
            attributes = p.get("attributes") or {}
            rotation_enabled, period = _rotation(p)
            body = {**key, "location": key.get("location") or vault.get("location")}
            yield record(
                "encryption_key",
                "azure.keyvault.key",
                region,
                body,
                {
                    "state": "enabled" if attributes.get("enabled", True) else "disabled",
                    "rotation_enabled": rotation_enabled,
                    "rotation_period_days": period,
                    "customer_managed": True,
                    "expires_at": epoch_to_iso(attributes.get("exp")),
                    "policy": None,
                    "vault_id": lower_id(vault["id"]),
                    "expiry_set": attributes.get("exp") is not None,
                    "key_type": p.get("kty"),
                    "key_size": p.get("keySize"),
                    "created_at": epoch_to_iso(attributes.get("created")),
                },
            )


@resource_type(
    "azure.keyvault.secret",
    resource_type="secret",
    service="keyvault",
    permissions=("Microsoft.KeyVault/vaults/read", "Microsoft.KeyVault/vaults/secrets/read"),
)
@harvest_errors
def collect_secrets(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """Secrets of every vault (metadata only, never values): enabled, expiry date, last update."""
    client = ctx.client("keyvault")
    for vault in _vaults(ctx, region):
        group = parse_id(vault["id"])["resource_group"]
        for secret in items(client.secrets.list(group, vault["name"])):
            p = props(secret)
            attributes = p.get("attributes") or {}
            body = {**secret, "location": secret.get("location") or vault.get("location")}
            body["properties"] = {k: v for k, v in p.items() if k != "value"}  # never keep a value if one came
            yield record(
                "secret",
                "azure.keyvault.secret",
                region,
                body,
                {
                    "rotation_enabled": False,  # Key Vault does not rotate secrets by itself
                    "last_rotated_at": epoch_to_iso(attributes.get("updated") or attributes.get("created")),
                    "kms_key_id": None,
                    "state": "enabled" if attributes.get("enabled", True) else "disabled",
                    "expires_at": epoch_to_iso(attributes.get("exp")),
                    "expiry_set": attributes.get("exp") is not None,
                    "content_type": p.get("contentType"),
                    "vault_id": lower_id(vault["id"]),
                },
            )

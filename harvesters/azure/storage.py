"""Storage accounts: anonymous blob access (account switch and each container), HTTPS, TLS, encryption, network."""

from __future__ import annotations

from collections.abc import Iterator

from harvesters.azure.common import enabled_flag, harvest_errors, in_region, props, record
from harvesters.azure.session import AzureContext, get_or_none, items, pages, parse_id
from harvesters.base import ResourceRecord, resource_type

_LOG_CATEGORIES = {"storageread", "storagewrite", "storagedelete"}


def _blob_logging(ctx: AzureContext, account_id: str) -> bool:
    """Blob access is logged when a diagnostic setting on the blob service exports a storage log category."""
    settings = items(ctx.client("monitor").diagnostic_settings.list(f"{account_id}/blobServices/default"))
    for setting in settings:
        for log in props(setting).get("logs") or []:
            category = (log.get("category") or log.get("categoryGroup") or "").lower()
            if log.get("enabled") and (category in _LOG_CATEGORIES or category in ("audit", "alllogs")):
                return True
    return False


@resource_type(
    "azure.storage.account",
    resource_type="storage_container",
    service="storage",
    permissions=(
        "Microsoft.Storage/storageAccounts/read",
        "Microsoft.Storage/storageAccounts/blobServices/read",
        "Microsoft.Storage/storageAccounts/blobServices/containers/read",
        "Microsoft.Insights/diagnosticSettings/read",
    ),
)
@harvest_errors
def collect_storage_accounts(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """Storage accounts with their blob containers' anonymous access, HTTPS-only, minimum TLS, encryption,
    network default action, blob versioning and blob logging."""
    storage = ctx.client("storage")
    for page in pages(storage.storage_accounts.list()):
        for body in in_region(page, region):
            p = props(body)
            group = parse_id(body["id"])["resource_group"]
            name = body["name"]
            allow_public = bool(p.get("allowBlobPublicAccess"))
            # An account may hold thousands of containers: keep the count and the ones open to anonymous reads.
            container_count = 0
            exposed = []
            for container in items(storage.blob_containers.list(group, name)):
                container_count += 1
                access = props(container).get("publicAccess") or "None"
                if access.lower() in ("blob", "container"):
                    exposed.append({"name": container.get("name"), "public_access": access})
            reasons = (
                [f"container {c['name']} allows anonymous {c['public_access']} access" for c in exposed]
                if allow_public
                else []
            )
            service = get_or_none(storage.blob_services.get_service_properties, group, name) or {}
            encryption = p.get("encryption") or {}
            vault = encryption.get("keyvaultproperties") or encryption.get("keyVaultProperties") or {}
            key_source = encryption.get("keySource") or "Microsoft.Storage"
            kms_key = None
            if key_source.lower() == "microsoft.keyvault":
                uri = (vault.get("keyvaulturi") or vault.get("keyVaultUri") or "").rstrip("/")
                kms_key = f"{uri}/keys/{vault.get('keyname') or vault.get('keyName') or ''}"
            acls = p.get("networkAcls") or {}
            yield record(
                "storage_container",
                "azure.storage.account",
                region,
                body,
                {
                    "public": bool(reasons),
                    "public_reasons": reasons,
                    "encrypted": True,  # Azure Storage encrypts everything at rest
                    "kms_key_id": kms_key,
                    "versioning_enabled": bool(props(service).get("isVersioningEnabled")),
                    "logging_enabled": _blob_logging(ctx, body["id"]),
                    "https_only": bool(p.get("supportsHttpsTrafficOnly", True)),
                    "public_access_block": not allow_public,
                    "policy": None,
                    "allow_blob_public_access": allow_public,
                    "minimum_tls_version": p.get("minimumTlsVersion"),
                    "encryption_key_source": key_source,
                    "infrastructure_encryption": bool(encryption.get("requireInfrastructureEncryption")),
                    "network_default_action": (acls.get("defaultAction") or "Allow").lower(),
                    "network_bypass": acls.get("bypass"),
                    "allowed_ip_ranges": [r.get("value") for r in acls.get("ipRules") or []],
                    "public_network_access": enabled_flag(p.get("publicNetworkAccess") or "Enabled"),
                    "shared_key_access": p.get("allowSharedKeyAccess") is not False,
                    "soft_delete_enabled": bool((props(service).get("deleteRetentionPolicy") or {}).get("enabled")),
                    "container_count": container_count,
                    "public_containers": [c["name"] for c in exposed],
                    "public_container_access": {c["name"]: c["public_access"] for c in exposed},
                    "kind": body.get("kind"),
                    "sku": (body.get("sku") or {}).get("name"),
                },
            )

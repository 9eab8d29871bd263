"""A small fake of Azure Resource Manager and the Entra ID token endpoint, over TLS.

Enough of the wire format for the real azure-identity and azure-mgmt-* clients to run against
it: OpenID metadata and ``/{tenant}/oauth2/v2.0/token`` (client secret or certificate
assertion), and ARM ``GET``s answered from ``state["resources"]`` (ARM id -> JSON body, ids
compared case-insensitively like ARM does). A path that names a resource returns it; a path
that names a collection returns every resource whose parent it is (and, for
``/subscriptions/S/providers/NS/type``, every top-level resource of that type in S), paged
``page_size`` at a time with a ``nextLink`` that keeps ``api-version``.

Tests mutate ``fake.state`` between harvests and inject failures with ``fake.fail(path, status,
times)``. The TLS certificate is made at start-up by a throw-away CA written to ``ca_file``.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import json
import os
import ssl
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

TENANT_ID = "72f988bf-0000-4000-8000-00000000aaaa"
CLIENT_ID = "a1b2c3d4-0000-4000-8000-0000000c11e1"
CLIENT_SECRET = "fake-client-secret-value"
SUB_PROD = "11111111-1111-4111-8111-111111111111"
SUB_DEV = "22222222-2222-4222-8222-222222222222"


# --- certificates ----------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificate(common_name: str, *, issuer=None, issuer_key=None, ca: bool = False, san: bool = False):
    """An RSA key and certificate (self-signed unless issuer and issuer_key are given)."""
    import ipaddress

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return key, cert


def pem(key, cert) -> bytes:
    """Private key then certificate, the PEM azure-identity's CertificateCredential reads."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)


@functools.cache
def _tls_material():
    """A throw-away CA and the server certificate it signs, made once per test process (RSA keys are slow)."""
    ca_key, ca_cert = make_certificate("InsightCloud test CA", ca=True)
    key, cert = make_certificate("127.0.0.1", issuer=ca_cert, issuer_key=ca_key, san=True)
    return ca_cert, key, cert


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- the estate ------------------------------------------------------------------------


def rid(sub: str, rg: str | None, *parts: str) -> str:
    """An ARM id: rid(SUB, "rg", "Microsoft.Compute", "virtualMachines", "vm1")."""
    base = f"/subscriptions/{sub}"
    if rg:
        base += f"/resourceGroups/{rg}"
    if parts:
        base += "/providers/" + "/".join(parts)
    return base


def default_estate() -> dict:
    """A subscription with deliberate misconfigurations and their well-configured twins."""
    s = SUB_PROD
    res: dict[str, dict] = {}

    def add(body: dict) -> dict:
        res[body["id"]] = body
        return body

    add(
        {
            "id": f"/subscriptions/{s}/resourceGroups/rg-app",
            "name": "rg-app",
            "location": "eastus",
            "type": "Microsoft.Resources/resourceGroups",
            "tags": {"env": "prod"},
            "properties": {"provisioningState": "Succeeded"},
        }
    )
    add(
        {
            "id": f"/subscriptions/{s}/resourceGroups/rg-data",
            "name": "rg-data",
            "location": "westeurope",
            "type": "Microsoft.Resources/resourceGroups",
            "properties": {"provisioningState": "Succeeded"},
        }
    )

    # --- network
    nsg_open = rid(s, "rg-app", "Microsoft.Network", "networkSecurityGroups", "nsg-open")
    nsg_tight = rid(s, "rg-app", "Microsoft.Network", "networkSecurityGroups", "nsg-tight")

    def rule(name, priority, direction, access, protocol, src, dst_ports, **extra):
        props = {
            "priority": priority,
            "direction": direction,
            "access": access,
            "protocol": protocol,
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
        }
        props.update({"sourceAddressPrefix": src} if isinstance(src, str) else {"sourceAddressPrefixes": src})
        if isinstance(dst_ports, str):
            props["destinationPortRange"] = dst_ports
        else:
            props["destinationPortRanges"] = dst_ports
        props.update(extra)
        return {"name": name, "properties": props}

    add(
        {
            "id": nsg_open,
            "name": "nsg-open",
            "location": "eastus",
            "type": "Microsoft.Network/networkSecurityGroups",
            "tags": {"team": "web"},
            "properties": {
                "securityRules": [
                    rule("ssh-from-anywhere", 100, "Inbound", "Allow", "Tcp", "*", "22", description="temporary"),
                    rule("rdp-from-internet", 110, "Inbound", "Allow", "Tcp", "Internet", "3389"),
                    rule("all-from-anywhere", 120, "Inbound", "Allow", "*", "0.0.0.0/0", "*"),
                    rule("egress-all", 100, "Outbound", "Allow", "*", "*", "*"),
                ],
                "defaultSecurityRules": [
                    rule("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*", "*"),
                ],
            },
        }
    )
    add(
        {
            "id": nsg_tight,
            "name": "nsg-tight",
            "location": "eastus",
            "type": "Microsoft.Network/networkSecurityGroups",
            "properties": {
                "securityRules": [
                    rule(
                        "https-from-office",
                        100,
                        "Inbound",
                        "Allow",
                        "Tcp",
                        ["203.0.113.0/24", "198.51.100.7"],
                        ["443", "8443-8444"],
                    ),
                    rule("dns-udp", 110, "Inbound", "Allow", "Udp", "10.0.0.0/8", "53"),
                    rule("icmp-vnet", 120, "Inbound", "Allow", "Icmp", "VirtualNetwork", "*"),
                ],
                "defaultSecurityRules": [],
            },
        }
    )

    vnet_id = rid(s, "rg-app", "Microsoft.Network", "virtualNetworks", "vnet-app")
    vnet2_id = rid(s, "rg-data", "Microsoft.Network", "virtualNetworks", "vnet-data")
    add(
        {
            "id": vnet_id,
            "name": "vnet-app",
            "location": "eastus",
            "type": "Microsoft.Network/virtualNetworks",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
                "subnets": [
                    {
                        "id": f"{vnet_id}/subnets/web",
                        "name": "web",
                        "properties": {"addressPrefix": "10.1.1.0/24", "networkSecurityGroup": {"id": nsg_open}},
                    },
                    {
                        "id": f"{vnet_id}/subnets/private",
                        "name": "private",
                        "properties": {
                            "addressPrefix": "10.1.2.0/24",
                            "networkSecurityGroup": {"id": nsg_tight},
                            "privateEndpointNetworkPolicies": "Enabled",
                            "serviceEndpoints": [{"service": "Microsoft.Storage"}],
                        },
                    },
                ],
            },
        }
    )
    add(
        {
            "id": vnet2_id,
            "name": "vnet-data",
            "location": "westeurope",
            "type": "Microsoft.Network/virtualNetworks",
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.2.0.0/16", "10.3.0.0/16"]},
                "subnets": [
                    {"id": f"{vnet2_id}/subnets/db", "name": "db", "properties": {"addressPrefixes": ["10.2.1.0/24"]}},
                ],
            },
        }
    )
    watcher = rid(s, "NetworkWatcherRG", "Microsoft.Network", "networkWatchers", "NetworkWatcher_eastus")
    add(
        {
            "id": watcher,
            "name": "NetworkWatcher_eastus",
            "location": "eastus",
            "type": "Microsoft.Network/networkWatchers",
            "properties": {"provisioningState": "Succeeded"},
        }
    )
    add(
        {
            "id": f"{watcher}/flowLogs/fl-vnet-app",
            "name": "fl-vnet-app",
            "location": "eastus",
            "type": "Microsoft.Network/networkWatchers/flowLogs",
            "properties": {
                "targetResourceId": vnet_id,
                "enabled": True,
                "storageId": "x",
                "retentionPolicy": {"days": 90, "enabled": True},
            },
        }
    )
    add(
        {
            "id": f"{watcher}/flowLogs/fl-nsg-tight",
            "name": "fl-nsg-tight",
            "location": "eastus",
            "type": "Microsoft.Network/networkWatchers/flowLogs",
            "properties": {"targetResourceId": nsg_tight, "enabled": True, "storageId": "x"},
        }
    )

    pip_id = rid(s, "rg-app", "Microsoft.Network", "publicIPAddresses", "pip-web")
    add(
        {
            "id": pip_id,
            "name": "pip-web",
            "location": "eastus",
            "type": "Microsoft.Network/publicIPAddresses",
            "properties": {"ipAddress": "20.1.2.3", "publicIPAllocationMethod": "Static"},
        }
    )
    nic_web = rid(s, "rg-app", "Microsoft.Network", "networkInterfaces", "nic-web")
    nic_db = rid(s, "rg-app", "Microsoft.Network", "networkInterfaces", "nic-worker")
    add(
        {
            "id": nic_web,
            "name": "nic-web",
            "location": "eastus",
            "type": "Microsoft.Network/networkInterfaces",
            "properties": {
                "networkSecurityGroup": {"id": nsg_open},
                "ipConfigurations": [
                    {
                        "id": f"{nic_web}/ipConfigurations/ipconfig1",
                        "name": "ipconfig1",
                        "properties": {
                            "privateIPAddress": "10.1.1.4",
                            "subnet": {"id": f"{vnet_id}/subnets/web"},
                            "publicIPAddress": {"id": pip_id},
                        },
                    }
                ],
            },
        }
    )
    add(
        {
            "id": nic_db,
            "name": "nic-worker",
            "location": "eastus",
            "type": "Microsoft.Network/networkInterfaces",
            "properties": {
                "ipConfigurations": [
                    {
                        "id": f"{nic_db}/ipConfigurations/ipconfig1",
                        "name": "ipconfig1",
                        "properties": {"privateIPAddress": "10.1.2.5", "subnet": {"id": f"{vnet_id}/subnets/private"}},
                    }
                ]
            },
        }
    )

    # --- compute
    des = rid(s, "rg-app", "Microsoft.Compute", "diskEncryptionSets", "des-cmk")
    disk_web = rid(s, "rg-app", "Microsoft.Compute", "disks", "vm-web_OsDisk")
    disk_worker = rid(s, "rg-app", "Microsoft.Compute", "disks", "vm-worker_OsDisk")
    add(
        {
            "id": rid(s, "rg-app", "Microsoft.Compute", "virtualMachines", "vm-web"),
            "name": "vm-web",
            "location": "eastus",
            "type": "Microsoft.Compute/virtualMachines",
            "tags": {"role": "web"},
            "properties": {
                "vmId": "0b5d-web",
                "hardwareProfile": {"vmSize": "Standard_B2s"},
                "storageProfile": {
                    "imageReference": {
                        "publisher": "Canonical",
                        "offer": "ubuntu-24_04-lts",
                        "sku": "server",
                        "version": "latest",
                    },
                    "osDisk": {
                        "name": "vm-web_OsDisk",
                        "osType": "Linux",
                        "createOption": "FromImage",
                        "managedDisk": {"id": disk_web},
                    },
                    "dataDisks": [],
                },
                "networkProfile": {"networkInterfaces": [{"id": nic_web}]},
                "osProfile": {
                    "computerName": "vm-web",
                    "adminUsername": "azureuser",
                    "linuxConfiguration": {"disablePasswordAuthentication": False},
                },
                "instanceView": {"statuses": [{"code": "PowerState/running"}]},
                "timeCreated": "2026-01-05T10:00:00Z",
                "provisioningState": "Succeeded",
            },
        }
    )
    add(
        {
            "id": rid(s, "rg-app", "Microsoft.Compute", "virtualMachines", "vm-worker"),
            "name": "vm-worker",
            "location": "eastus",
            "type": "Microsoft.Compute/virtualMachines",
            "identity": {"type": "SystemAssigned", "principalId": "5e1f0000-0000-4000-8000-000000000001"},
            "properties": {
                "vmId": "0b5d-worker",
                "hardwareProfile": {"vmSize": "Standard_D4s_v5"},
                "securityProfile": {"encryptionAtHost": True},
                "storageProfile": {
                    "imageReference": {"id": rid(s, "rg-app", "Microsoft.Compute", "galleries", "g1")},
                    "osDisk": {
                        "name": "vm-worker_OsDisk",
                        "osType": "Linux",
                        "createOption": "FromImage",
                        "managedDisk": {"id": disk_worker, "diskEncryptionSet": {"id": des}},
                    },
                    "dataDisks": [],
                },
                "networkProfile": {"networkInterfaces": [{"id": nic_db}]},
                "osProfile": {
                    "computerName": "vm-worker",
                    "adminUsername": "azureuser",
                    "linuxConfiguration": {"disablePasswordAuthentication": True},
                },
                "instanceView": {"statuses": [{"code": "PowerState/deallocated"}]},
                "timeCreated": "2026-02-01T08:30:00Z",
                "provisioningState": "Succeeded",
            },
        }
    )
    add(
        {
            "id": disk_web,
            "name": "vm-web_OsDisk",
            "location": "eastus",
            "type": "Microsoft.Compute/disks",
            "managedBy": rid(s, "rg-app", "Microsoft.Compute", "virtualMachines", "vm-web"),
            "properties": {
                "diskSizeGB": 30,
                "diskState": "Attached",
                "publicNetworkAccess": "Enabled",
                "networkAccessPolicy": "AllowAll",
                "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
                "timeCreated": "2026-01-05T10:00:00Z",
            },
        }
    )
    add(
        {
            "id": disk_worker,
            "name": "vm-worker_OsDisk",
            "location": "eastus",
            "type": "Microsoft.Compute/disks",
            "managedBy": rid(s, "rg-app", "Microsoft.Compute", "virtualMachines", "vm-worker"),
            "properties": {
                "diskSizeGB": 64,
                "diskState": "Reserved",
                "encryptionSettingsCollection": {"enabled": True, "encryptionSettingsVersion": "1.1"},
                "publicNetworkAccess": "Disabled",
                "networkAccessPolicy": "DenyAll",
                "encryption": {"type": "EncryptionAtRestWithCustomerKey", "diskEncryptionSetId": des},
                "timeCreated": "2026-02-01T08:30:00Z",
            },
        }
    )
    add(
        {
            "id": rid(s, "rg-app", "Microsoft.Compute", "snapshots", "snap-web"),
            "name": "snap-web",
            "location": "eastus",
            "type": "Microsoft.Compute/snapshots",
            "properties": {
                "creationData": {"createOption": "Copy", "sourceResourceId": disk_web},
                "diskSizeGB": 30,
                "publicNetworkAccess": "Enabled",
                "networkAccessPolicy": "AllowAll",
                "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
                "timeCreated": "2026-03-01T00:00:00Z",
            },
        }
    )
    add(
        {
            "id": rid(s, "rg-app", "Microsoft.Compute", "snapshots", "snap-worker"),
            "name": "snap-worker",
            "location": "eastus",
            "type": "Microsoft.Compute/snapshots",
            "properties": {
                "creationData": {"createOption": "Copy", "sourceResourceId": disk_worker},
                "diskSizeGB": 64,
                "publicNetworkAccess": "Disabled",
                "networkAccessPolicy": "DenyAll",
                "encryption": {"type": "EncryptionAtRestWithCustomerKey", "diskEncryptionSetId": des},
                "timeCreated": "2026-03-02T00:00:00Z",
            },
        }
    )

    # --- storage
    st_pub = rid(s, "rg-data", "Microsoft.Storage", "storageAccounts", "stpublicdata")
    st_priv = rid(s, "rg-data", "Microsoft.Storage", "storageAccounts", "stprivatelogs")
    add(
        {
            "id": st_pub,
            "name": "stpublicdata",
            "location": "westeurope",
            "type": "Microsoft.Storage/storageAccounts",
            "kind": "StorageV2",
            "sku": {"name": "Standard_LRS", "tier": "Standard"},
            "properties": {
                "allowBlobPublicAccess": True,
                "supportsHttpsTrafficOnly": False,
                "minimumTlsVersion": "TLS1_0",
                "publicNetworkAccess": "Enabled",
                "networkAcls": {"defaultAction": "Allow", "bypass": "None"},
                "encryption": {"keySource": "Microsoft.Storage", "services": {"blob": {"enabled": True}}},
                "allowSharedKeyAccess": True,
                "creationTime": "2025-11-01T00:00:00Z",
            },
        }
    )
    add(
        {
            "id": st_priv,
            "name": "stprivatelogs",
            "location": "westeurope",
            "type": "Microsoft.Storage/storageAccounts",
            "kind": "StorageV2",
            "sku": {"name": "Standard_GRS", "tier": "Standard"},
            "properties": {
                "allowBlobPublicAccess": False,
                "supportsHttpsTrafficOnly": True,
                "minimumTlsVersion": "TLS1_2",
                "publicNetworkAccess": "Disabled",
                "networkAcls": {
                    "defaultAction": "Deny",
                    "bypass": "AzureServices",
                    "ipRules": [{"value": "203.0.113.0/24", "action": "Allow"}],
                },
                "encryption": {
                    "keySource": "Microsoft.Keyvault",
                    "requireInfrastructureEncryption": True,
                    "keyvaultproperties": {
                        "keyvaulturi": "https://kv-strict.vault.azure.net/",
                        "keyname": "storage-cmk",
                    },
                },
                "allowSharedKeyAccess": False,
                "creationTime": "2025-11-02T00:00:00Z",
            },
        }
    )
    for account, versioning in ((st_pub, False), (st_priv, True)):
        add(
            {
                "id": f"{account}/blobServices/default",
                "name": "default",
                "type": "Microsoft.Storage/storageAccounts/blobServices",
                "properties": {"isVersioningEnabled": versioning, "deleteRetentionPolicy": {"enabled": versioning}},
            }
        )
    add(
        {
            "id": f"{st_pub}/blobServices/default/containers/images",
            "name": "images",
            "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
            "properties": {"publicAccess": "Container"},
        }
    )
    add(
        {
            "id": f"{st_pub}/blobServices/default/containers/thumbs",
            "name": "thumbs",
            "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
            "properties": {"publicAccess": "Blob"},
        }
    )
    add(
        {
            "id": f"{st_pub}/blobServices/default/containers/internal",
            "name": "internal",
            "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
            "properties": {"publicAccess": "None"},
        }
    )
    add(
        {
            "id": f"{st_priv}/blobServices/default/containers/logs",
            "name": "logs",
            "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
            "properties": {"publicAccess": "None"},
        }
    )
    add(
        {
            "id": f"{st_priv}/blobServices/default/providers/microsoft.insights/diagnosticSettings/blob-logs",
            "name": "blob-logs",
            "type": "Microsoft.Insights/diagnosticSettings",
            "properties": {
                "workspaceId": "ws",
                "logs": [
                    {"category": "StorageRead", "enabled": True},
                    {"category": "StorageWrite", "enabled": True},
                    {"category": "StorageDelete", "enabled": True},
                ],
            },
        }
    )

    # --- key vaults and keys
    kv_lax = rid(s, "rg-data", "Microsoft.KeyVault", "vaults", "kv-lax")
    kv_strict = rid(s, "rg-data", "Microsoft.KeyVault", "vaults", "kv-strict")
    add(
        {
            "id": kv_lax,
            "name": "kv-lax",
            "location": "westeurope",
            "type": "Microsoft.KeyVault/vaults",
            "properties": {
                "tenantId": TENANT_ID,
                "sku": {"family": "A", "name": "standard"},
                "vaultUri": "https://kv-lax.vault.azure.net/",
                "enableSoftDelete": False,
                "enableRbacAuthorization": False,
                "publicNetworkAccess": "Enabled",
                "accessPolicies": [
                    {"tenantId": TENANT_ID, "objectId": "o1", "permissions": {"keys": ["all"], "secrets": ["all"]}}
                ],
            },
        }
    )
    add(
        {
            "id": kv_strict,
            "name": "kv-strict",
            "location": "westeurope",
            "type": "Microsoft.KeyVault/vaults",
            "properties": {
                "tenantId": TENANT_ID,
                "sku": {"family": "A", "name": "premium"},
                "vaultUri": "https://kv-strict.vault.azure.net/",
                "enableSoftDelete": True,
                "softDeleteRetentionInDays": 90,
                "enablePurgeProtection": True,
                "enableRbacAuthorization": True,
                "publicNetworkAccess": "Disabled",
                "networkAcls": {
                    "defaultAction": "Deny",
                    "bypass": "AzureServices",
                    "ipRules": [{"value": "203.0.113.0/24"}],
                    "virtualNetworkRules": [],
                },
                "accessPolicies": [],
            },
        }
    )
    add(
        {
            "id": f"{kv_lax}/keys/legacy-key",
            "name": "legacy-key",
            "location": "westeurope",
            "type": "Microsoft.KeyVault/vaults/keys",
            "properties": {
                "kty": "RSA",
                "keySize": 2048,
                "keyOps": ["encrypt", "decrypt"],
                "attributes": {"enabled": True, "created": 1735689600, "updated": 1735689600},
                "keyUri": "https://kv-lax.vault.azure.net/keys/legacy-key",
            },
        }
    )
    add(
        {
            "id": f"{kv_strict}/keys/storage-cmk",
            "name": "storage-cmk",
            "location": "westeurope",
            "type": "Microsoft.KeyVault/vaults/keys",
            "properties": {
                "kty": "RSA-HSM",
                "keySize": 3072,
                "keyOps": ["wrapKey", "unwrapKey"],
                "attributes": {"enabled": True, "created": 1735689600, "exp": 1830297600},
                "rotationPolicy": {
                    "lifetimeActions": [{"trigger": {"timeAfterCreate": "P90D"}, "action": {"type": "rotate"}}],
                    "attributes": {"expiryTime": "P1Y"},
                },
                "keyUri": "https://kv-strict.vault.azure.net/keys/storage-cmk",
            },
        }
    )

    # secrets (metadata only: the management plane never returns values)
    add(
        {
            "id": f"{kv_lax}/secrets/db-password",
            "name": "db-password",
            "location": "westeurope",
            "type": "Microsoft.KeyVault/vaults/secrets",
            "properties": {"attributes": {"enabled": True, "created": 1704067200, "updated": 1704067200}},
        }
    )
    add(
        {
            "id": f"{kv_strict}/secrets/api-token",
            "name": "api-token",
            "location": "westeurope",
            "type": "Microsoft.KeyVault/vaults/secrets",
            "properties": {
                "contentType": "text/plain",
                "attributes": {"enabled": True, "created": 1735689600, "updated": 1764547200, "exp": 1796083200},
            },
        }
    )

    # --- SQL
    sql_open = rid(s, "rg-data", "Microsoft.Sql", "servers", "sql-open")
    sql_closed = rid(s, "rg-data", "Microsoft.Sql", "servers", "sql-closed")
    add(
        {
            "id": sql_open,
            "name": "sql-open",
            "location": "westeurope",
            "type": "Microsoft.Sql/servers",
            "kind": "v12.0",
            "properties": {
                "version": "12.0",
                "administratorLogin": "sqladmin",
                "publicNetworkAccess": "Enabled",
                "minimalTlsVersion": "1.0",
                "fullyQualifiedDomainName": "sql-open.database.windows.net",
                "state": "Ready",
            },
        }
    )
    add(
        {
            "id": sql_closed,
            "name": "sql-closed",
            "location": "westeurope",
            "type": "Microsoft.Sql/servers",
            "kind": "v12.0",
            "identity": {"type": "SystemAssigned"},
            "properties": {
                "version": "12.0",
                "administratorLogin": "sqladmin",
                "publicNetworkAccess": "Disabled",
                "minimalTlsVersion": "1.2",
                "fullyQualifiedDomainName": "sql-closed.database.windows.net",
                "state": "Ready",
            },
        }
    )
    add(
        {
            "id": f"{sql_open}/firewallRules/AllowAll",
            "name": "AllowAll",
            "type": "Microsoft.Sql/servers/firewallRules",
            "properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"},
        }
    )
    add(
        {
            "id": f"{sql_open}/firewallRules/AllowAllWindowsAzureIps",
            "name": "AllowAllWindowsAzureIps",
            "type": "Microsoft.Sql/servers/firewallRules",
            "properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"},
        }
    )
    add(
        {
            "id": f"{sql_closed}/firewallRules/office",
            "name": "office",
            "type": "Microsoft.Sql/servers/firewallRules",
            "properties": {"startIpAddress": "203.0.113.0", "endIpAddress": "203.0.113.255"},
        }
    )
    add(
        {
            "id": f"{sql_open}/auditingSettings/default",
            "name": "default",
            "type": "Microsoft.Sql/servers/auditingSettings",
            "properties": {"state": "Disabled", "retentionDays": 0},
        }
    )
    add(
        {
            "id": f"{sql_closed}/auditingSettings/default",
            "name": "default",
            "type": "Microsoft.Sql/servers/auditingSettings",
            "properties": {"state": "Enabled", "retentionDays": 120, "isAzureMonitorTargetEnabled": True},
        }
    )
    add(
        {
            "id": f"{sql_closed}/administrators/ActiveDirectory",
            "name": "ActiveDirectory",
            "type": "Microsoft.Sql/servers/administrators",
            "properties": {
                "administratorType": "ActiveDirectory",
                "login": "dba-group",
                "sid": "5e1f0000-aaaa",
                "tenantId": TENANT_ID,
            },
        }
    )
    for server, db, tde, retention in ((sql_open, "appdb", "Disabled", 7), (sql_closed, "ledger", "Enabled", 35)):
        add(
            {
                "id": f"{server}/databases/{db}",
                "name": db,
                "location": "westeurope",
                "type": "Microsoft.Sql/servers/databases",
                "sku": {"name": "S0", "tier": "Standard"},
                "properties": {"status": "Online", "zoneRedundant": retention > 7, "collation": "SQL_Latin1_General"},
            }
        )
        add(
            {
                "id": f"{server}/databases/{db}/transparentDataEncryption/current",
                "name": "current",
                "type": "Microsoft.Sql/servers/databases/transparentDataEncryption",
                "properties": {"state": tde},
            }
        )
        add(
            {
                "id": f"{server}/databases/{db}/backupShortTermRetentionPolicies/default",
                "name": "default",
                "type": "Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies",
                "properties": {"retentionDays": retention},
            }
        )
    add(
        {
            "id": f"{sql_open}/databases/master",
            "name": "master",
            "location": "westeurope",
            "type": "Microsoft.Sql/servers/databases",
            "properties": {"status": "Online"},
        }
    )

    # --- App Service
    for name, https, tls, ftps in (("app-legacy", False, "1.0", "AllAllowed"), ("app-modern", True, "1.2", "Disabled")):
        site = rid(s, "rg-app", "Microsoft.Web", "sites", name)
        add(
            {
                "id": site,
                "name": name,
                "location": "eastus",
                "type": "Microsoft.Web/sites",
                "kind": "app,linux",
                "properties": {
                    "state": "Running",
                    "httpsOnly": https,
                    "defaultHostName": f"{name}.azurewebsites.net",
                    "clientCertEnabled": https,
                    "publicNetworkAccess": "Enabled",
                },
            }
        )
        add(
            {
                "id": f"{site}/config/web",
                "name": "web",
                "type": "Microsoft.Web/sites/config",
                "properties": {
                    "minTlsVersion": tls,
                    "ftpsState": ftps,
                    "http20Enabled": https,
                    "linuxFxVersion": "PYTHON|3.12",
                    "remoteDebuggingEnabled": not https,
                },
            }
        )

    # --- AKS
    add(
        {
            "id": rid(s, "rg-app", "Microsoft.ContainerService", "managedClusters", "aks-open"),
            "name": "aks-open",
            "location": "eastus",
            "type": "Microsoft.ContainerService/managedClusters",
            "properties": {
                "kubernetesVersion": "1.29.2",
                "enableRBAC": False,
                "fqdn": "aks-open.hcp.eastus.azmk8s.io",
                "networkProfile": {"networkPlugin": "kubenet"},
                "apiServerAccessProfile": {"enablePrivateCluster": False},
                "addonProfiles": {},
            },
        }
    )
    add(
        {
            "id": rid(s, "rg-app", "Microsoft.ContainerService", "managedClusters", "aks-private"),
            "name": "aks-private",
            "location": "eastus",
            "type": "Microsoft.ContainerService/managedClusters",
            "properties": {
                "kubernetesVersion": "1.31.1",
                "enableRBAC": True,
                "aadProfile": {"managed": True, "enableAzureRBAC": True},
                "networkProfile": {"networkPlugin": "azure", "networkPolicy": "calico"},
                "apiServerAccessProfile": {"enablePrivateCluster": True},
                "addonProfiles": {"omsagent": {"enabled": True, "config": {}}},
            },
        }
    )

    # --- authorization
    auth = f"/subscriptions/{s}/providers/Microsoft.Authorization"
    owner = "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    add(
        {
            "id": f"{auth}/roleDefinitions/c0ffee00-0000-4000-8000-000000000001",
            "name": "c0ffee00-0000-4000-8000-000000000001",
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": "Everything Operator",
                "type": "CustomRole",
                "description": "too broad",
                "assignableScopes": [f"/subscriptions/{s}"],
                "permissions": [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}],
            },
        }
    )
    add(
        {
            "id": f"{auth}/roleDefinitions/c0ffee00-0000-4000-8000-000000000002",
            "name": "c0ffee00-0000-4000-8000-000000000002",
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": "VM Restarter",
                "type": "CustomRole",
                "assignableScopes": [f"/subscriptions/{s}/resourceGroups/rg-app"],
                "permissions": [
                    {
                        "actions": [
                            "Microsoft.Compute/virtualMachines/restart/action",
                            "Microsoft.Compute/virtualMachines/read",
                        ],
                        "notActions": [],
                    }
                ],
            },
        }
    )
    add(
        {
            "id": f"{auth}/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "name": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": "Reader",
                "type": "BuiltInRole",
                "assignableScopes": ["/"],
                "permissions": [{"actions": ["*/read"], "notActions": []}],
            },
        }
    )
    add(
        {
            "id": f"{auth}/roleAssignments/ra-owner-user",
            "name": "ra-owner-user",
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": f"/subscriptions/{s}{owner}",
                "principalId": "u-1",
                "principalType": "User",
                "scope": f"/subscriptions/{s}",
            },
        }
    )
    add(
        {
            "id": f"{auth}/roleAssignments/ra-custom-sp",
            "name": "ra-custom-sp",
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": f"{auth}/roleDefinitions/c0ffee00-0000-4000-8000-000000000001",
                "principalId": "sp-1",
                "principalType": "ServicePrincipal",
                "scope": f"/subscriptions/{s}",
            },
        }
    )

    # --- activity log diagnostic settings
    add(
        {
            "id": f"/subscriptions/{s}/providers/microsoft.insights/diagnosticSettings/activity-to-la",
            "name": "activity-to-la",
            "type": "Microsoft.Insights/diagnosticSettings",
            "properties": {
                "workspaceId": "/subscriptions/x/resourceGroups/y/providers/Microsoft.OperationalInsights/"
                "workspaces/la",
                "logs": [
                    {"category": "Administrative", "enabled": True},
                    {"category": "Security", "enabled": True},
                    {"category": "Policy", "enabled": False},
                    {"category": "Alert", "enabled": True},
                ],
            },
        }
    )

    # --- Defender for Cloud
    sec = f"/subscriptions/{s}/providers/Microsoft.Security"
    for plan, tier in (
        ("VirtualMachines", "Standard"),
        ("SqlServers", "Free"),
        ("StorageAccounts", "Standard"),
        ("KeyVaults", "Free"),
    ):
        add(
            {
                "id": f"{sec}/pricings/{plan}",
                "name": plan,
                "type": "Microsoft.Security/pricings",
                "properties": {"pricingTier": tier},
            }
        )
    add(
        {
            "id": f"{sec}/securityContacts/default",
            "name": "default",
            "type": "Microsoft.Security/securityContacts",
            "properties": {
                "emails": "secops@example.com",
                "phone": "",
                "alertNotifications": {"state": "On"},
                "notificationsByRole": {"state": "On", "roles": ["Owner"]},
            },
        }
    )
    add(
        {
            "id": f"{sec}/autoProvisioningSettings/default",
            "name": "default",
            "type": "Microsoft.Security/autoProvisioningSettings",
            "properties": {"autoProvision": "Off"},
        }
    )
    return res


def default_state() -> dict:
    return {
        "tenants": {TENANT_ID: {"clients": {CLIENT_ID: {"secret": CLIENT_SECRET, "certificates": []}}}},
        "subscriptions": {
            SUB_PROD: {"displayName": "Production", "state": "Enabled", "tenantId": TENANT_ID},
            SUB_DEV: {"displayName": "Development", "state": "Enabled", "tenantId": TENANT_ID},
        },
        "resources": default_estate(),
    }


LOCATIONS = ("eastus", "eastus2", "westus2", "westeurope", "northeurope", "uksouth", "southeastasia")

#: Collections whose operations are not pageable in the SDK (ARM answers them in one response).
UNPAGED = ("/pricings", "/diagnosticsettings")

# --- the server ------------------------------------------------------------------------


def _lower(path: str) -> str:
    return path.rstrip("/").lower()


def _is_collection(segments: list[str]) -> bool:
    """ARM paths alternate type/name after ``providers/Namespace``: an odd tail is a collection."""
    rest = segments[2:]  # after subscriptions/{id}
    if rest and rest[0] == "resourcegroups":
        if len(rest) == 1:
            return True
        rest = rest[2:]
    while "providers" in rest:  # nested extension resources: .../providers/NS/type/name
        rest = rest[rest.index("providers") + 2 :]
    return len(rest) % 2 == 1


class AzureFake:
    """Start with :meth:`start`; ``authority`` and ``arm_endpoint`` are its two base URLs."""

    def __init__(self, page_size: int = 2) -> None:
        self.state = default_state()
        self.page_size = page_size
        self.requests: list[tuple[str, str]] = []  # (method, path?query)
        self._failures: list[list] = []  # [path fragment, status, times left]
        self._tokens: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._dir = tempfile.mkdtemp(prefix="azure-fake-")
        self.ca_file = os.path.join(self._dir, "ca.pem")
        self._server: ThreadingHTTPServer | None = None

    # --- control
    def fail(self, path: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests whose path+query contains ``path`` (case-insensitive) with ``status``."""
        with self._lock:
            self._failures.append([path.lower(), status, times])

    def add_certificate(self, client_id: str = CLIENT_ID) -> bytes:
        """Register a new certificate for ``client_id``; returns its PEM (key + certificate)."""
        key, cert = make_certificate("insightcloud-client")
        self.state["tenants"][TENANT_ID]["clients"][client_id]["certificates"].append(cert)
        return pem(key, cert)

    def resource(self, arm_id: str) -> dict:
        return self.state["resources"][self._find_key(arm_id)]

    def delete(self, arm_id: str) -> None:
        del self.state["resources"][self._find_key(arm_id)]

    def _find_key(self, arm_id: str) -> str:
        wanted = _lower(arm_id)
        for key in self.state["resources"]:
            if _lower(key) == wanted:
                return key
        raise KeyError(arm_id)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def authority(self) -> str:
        return self.base_url

    @property
    def arm_endpoint(self) -> str:
        return self.base_url

    def start(self) -> AzureFake:
        ca_cert, key, cert = _tls_material()
        with open(self.ca_file, "wb") as handle:
            handle.write(ca_cert.public_bytes(serialization.Encoding.PEM))
        server_pem = os.path.join(self._dir, "server.pem")
        with open(server_pem, "wb") as handle:
            handle.write(pem(key, cert))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(server_pem)
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # --- behaviour
    def _take_failure(self, path: str) -> int | None:
        with self._lock:
            for failure in self._failures:
                if failure[0] in path.lower() and failure[2] > 0:
                    failure[2] -= 1
                    return failure[1]
        return None

    def _issue_token(self, tenant: str, form: dict) -> tuple[int, dict]:
        tenant_state = self.state["tenants"].get(tenant)
        if tenant_state is None:
            return 400, {"error": "invalid_request", "error_description": f"AADSTS90002: Tenant '{tenant}' not found."}
        client = tenant_state["clients"].get(form.get("client_id", ""))
        if client is None:
            return 400, {
                "error": "unauthorized_client",
                "error_description": f"AADSTS700016: Application with identifier '{form.get('client_id')}' "
                "was not found in the directory.",
            }
        if "client_secret" in form:
            ok = form["client_secret"] == client["secret"]
        elif "client_assertion" in form:
            ok = self._assertion_valid(form["client_assertion"], client["certificates"])
        else:
            ok = False
        if not ok:
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            }
        token = "fake-arm-token-" + uuid.uuid4().hex
        self._tokens[token] = (tenant, form["client_id"])
        return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}

    @staticmethod
    def _assertion_valid(assertion: str, certificates: list) -> bool:
        try:
            header_b64, payload_b64, signature_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(header_b64))
            signature = _b64url_decode(signature_b64)
        except ValueError:
            return False
        signed = f"{header_b64}.{payload_b64}".encode()
        for cert in certificates:
            der = cert.public_bytes(serialization.Encoding.DER)
            thumbprints = {
                base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("="),  # noqa: S324
                base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("="),
            }
            if (header.get("x5t#S256") or header.get("x5t", "")).rstrip("=") not in thumbprints:
                continue
            if header.get("alg") == "PS256":
                pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
            else:
                pad = padding.PKCS1v15()
            try:
                cert.public_key().verify(signature, signed, pad, hashes.SHA256())
                return True
            except Exception:  # noqa: BLE001 - any verification failure is a refusal
                return False
        return False

    def _arm_get(self, path: str, query: dict) -> tuple[int, dict]:
        segments = [s for s in _lower(path).split("/") if s]
        if segments == ["subscriptions"]:
            items = [
                {"id": f"/subscriptions/{sid}", "subscriptionId": sid, "authorizationSource": "RoleBased", **body}
                for sid, body in self.state["subscriptions"].items()
            ]
            return 200, self._page(path, query, items)
        if len(segments) < 2 or segments[0] != "subscriptions":
            return 404, _arm_error("NotFound", f"no route for {path}")
        sub = next((s for s in self.state["subscriptions"] if s.lower() == segments[1]), None)
        if sub is None:
            return 404, _arm_error("SubscriptionNotFound", f"The subscription '{segments[1]}' could not be found.")
        if len(segments) == 2:
            return 200, {"id": f"/subscriptions/{sub}", "subscriptionId": sub, **self.state["subscriptions"][sub]}
        if segments[2:] == ["locations"]:
            # Like ARM: every location of the cloud, whether the subscription uses it or not.
            used = {r["location"] for r in self._in_subscription(sub) if r.get("location")}
            names = sorted(used | set(LOCATIONS))
            return 200, {
                "value": [{"name": n, "displayName": n, "id": f"/subscriptions/{sub}/locations/{n}"} for n in names]
            }
        if segments[2:] == ["resources"]:  # the generic resource listing: every top-level resource
            items = [body for key, body in self.state["resources"].items() if self._top_level(key)]
            return 200, self._page(path, query, items)
        wanted = _lower(path)
        for key, body in self.state["resources"].items():
            if _lower(key) == wanted:
                return 200, body
        if not _is_collection(segments):
            return 404, _arm_error("ResourceNotFound", f"The Resource '{path}' was not found.")
        items = [body for key, body in self.state["resources"].items() if self._in_collection(key, segments)]
        return 200, self._page(path, query, items)

    def _in_subscription(self, sub: str) -> list[dict]:
        prefix = f"/subscriptions/{sub}/".lower()
        return [body for key, body in self.state["resources"].items() if key.lower().startswith(prefix)]

    @staticmethod
    def _top_level(key: str) -> bool:
        parts = [s for s in _lower(key).split("/") if s]
        return len(parts) == 8 and parts[2] == "resourcegroups" and parts[4] == "providers"

    @staticmethod
    def _in_collection(key: str, collection: list[str]) -> bool:
        parts = [s for s in _lower(key).split("/") if s]
        if parts[:-1] == collection:
            return True
        # /subscriptions/S/providers/NS/type lists top-level resources of every resource group.
        return (
            len(collection) == 5
            and collection[2] == "providers"
            and len(parts) == 8
            and parts[:2] == collection[:2]
            and parts[2] == "resourcegroups"
            and parts[4:7] == collection[2:5]
        )

    def _page(self, path: str, query: dict, items: list[dict]) -> dict:
        if path.rstrip("/").lower().endswith(UNPAGED):
            return {"value": items}
        start = int(query.get("$skiptoken", ["0"])[0])
        body: dict = {"value": items[start : start + self.page_size]}
        if start + self.page_size < len(items):
            params = {k: v[0] for k, v in query.items() if k != "$skiptoken"}
            params["$skiptoken"] = str(start + self.page_size)
            body["nextLink"] = f"{self.base_url}{path}?{urlencode(params)}"
        return body


def _arm_error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


class _Handler(BaseHTTPRequestHandler):
    fake: AzureFake
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: don't wait for delayed ACKs

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", uuid.uuid4().hex)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _injected(self, path: str) -> bool:
        status = self.fake._take_failure(path)
        if status is None:
            return False
        codes = {
            400: "BadRequest",
            401: "InvalidAuthenticationToken",
            403: "AuthorizationFailed",
            404: "ResourceNotFound",
            409: "Conflict",
            429: "TooManyRequests",
            503: "ServiceUnavailable",
        }
        code = codes.get(status, "InternalServerError")
        # ARM sends Retry-After with throttling and unavailability only (azure-core retries whatever carries it).
        headers = {"Retry-After": "0"} if status in (429, 503) else {}
        self._send(status, _arm_error(code, f"injected {status}"), headers)
        return True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        self.fake.requests.append(("GET", self.path))
        if self._injected(self.path):
            return
        parts = [p for p in url.path.split("/") if p]
        if len(parts) >= 2 and parts[-2:] == ["v2.0", ".well-known"] or url.path.endswith("openid-configuration"):
            tenant = parts[0]
            if tenant not in self.fake.state["tenants"]:
                self._send(
                    400, {"error": "invalid_tenant", "error_description": f"AADSTS90002: Tenant '{tenant}' not found."}
                )
                return
            base = f"{self.fake.base_url}/{tenant}"
            self._send(
                200,
                {
                    "issuer": f"{base}/v2.0",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "tenant_region_scope": "WW",
                },
            )
            return
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.fake._tokens:
            self._send(401, _arm_error("InvalidAuthenticationToken", "The access token is invalid."))
            return
        status, body = self.fake._arm_get(url.path, parse_qs(url.query))
        self._send(status, body)

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        self.fake.requests.append(("POST", self.path))
        if self._injected(url.path):
            return
        parts = [p for p in url.path.split("/") if p]
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            form = {k: v[0] for k, v in parse_qs(raw).items()}
            status, body = self.fake._issue_token(parts[0], form)
            self._send(status, body)
            return
        self._send(404, _arm_error("NotFound", f"no route for POST {url.path}"))

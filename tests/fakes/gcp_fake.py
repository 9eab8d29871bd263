"""A small HTTP fake of the Google Cloud APIs InsightCloud reads, for the real googleapiclient code.

One stdlib HTTP server (a thread) serves every API under ``/<api>/`` - ``/compute/v1/…``,
``/storage/v1/…``, ``/iam/v1/…``, ``/sqladmin/v1/…``, ``/cloudkms/v1/…``, ``/container/v1/…``,
``/logging/v2/…``, ``/cloudresourcemanager/v3/…``, ``/monitoring/v3/…`` (timeSeries.create,
received series kept in ``fake.time_series``) - and an OAuth token endpoint at ``/token``
that accepts the JWT-bearer grant of the service-account keys it issued (RS256 signature checked)
and refuses any other key with ``invalid_grant``, as Google does.

``fake.state`` is plain Python data (see :func:`default_estate`) that a test may change between
harvests. Listings page ``page_size`` items at a time (``pageToken``/``nextPageToken``);
``fake.fail(pattern, status, times)`` makes the next ``times`` requests whose path and query
contain ``pattern`` answer ``status`` with Google's JSON error body.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

COMPUTE = "https://www.googleapis.com/compute/v1/projects"
ALL_USERS = "allUsers"
ALL_AUTHENTICATED = "allAuthenticatedUsers"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
STATUS_NAMES |= {409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_RSA_KEYS: list[Any] = []


def _rsa_key() -> Any:
    """One RSA key per test process (generating one costs ~0.3 s on a busy machine); keys differ by id."""
    if not _RSA_KEYS:
        _RSA_KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _RSA_KEYS[0]


def _self_signed_certificate(directory: str) -> tuple[str, str]:
    """A certificate for 127.0.0.1 / localhost and its key, written as PEM files: (cert path, key path)."""
    import datetime
    import ipaddress
    import os

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    key = _rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gcp-fake")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = os.path.join(directory, "gcp-fake.pem"), os.path.join(directory, "gcp-fake.key")
    with open(cert_path, "wb") as handle:
        handle.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return cert_path, key_path


def _zone_url(project: str, zone: str) -> str:
    return f"{COMPUTE}/{project}/zones/{zone}"


def _region_url(project: str, region: str) -> str:
    return f"{COMPUTE}/{project}/regions/{region}"


def _global_url(project: str, kind: str, name: str) -> str:
    return f"{COMPUTE}/{project}/global/{kind}/{name}"


def _days_ago(days: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - days * 86400))


def default_estate() -> dict[str, Any]:
    """A small organization with deliberate misconfigurations and their well-configured twins.

    organizations/100 ─ folders/200 (prod) ─ acme-prod   (most resources)
                      └ acme-dev                           (a quiet project)
    lonely-project has no parent in the organization.
    """
    p = "acme-prod"
    default_sa = "111111111111-compute@developer.gserviceaccount.com"
    app_sa = f"app-sa@{p}.iam.gserviceaccount.com"
    ci_sa = f"ci-deployer@{p}.iam.gserviceaccount.com"
    kms = f"projects/{p}/locations"
    disk_key = f"{kms}/europe-west1/keyRings/ring/cryptoKeys/disk-key"

    instances = [
        {
            "id": "1001",
            "name": "web-1",
            "zone": _zone_url(p, "us-central1-a"),
            "selfLink": f"{_zone_url(p, 'us-central1-a')}/instances/web-1",
            "machineType": f"{_zone_url(p, 'us-central1-a')}/machineTypes/e2-medium",
            "status": "RUNNING",
            "creationTimestamp": "2024-01-02T03:04:05.000-08:00",
            "lastStartTimestamp": "2024-02-01T10:00:00.000-08:00",
            "canIpForward": True,
            "tags": {"items": ["http-server", "ssh"]},
            "labels": {"env": "prod", "team": "web"},
            "networkInterfaces": [
                {
                    "network": _global_url(p, "networks", "default"),
                    "subnetwork": f"{_region_url(p, 'us-central1')}/subnetworks/default",
                    "networkIP": "10.128.0.2",
                    "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "name": "External NAT", "natIP": "34.1.2.3"}],
                }
            ],
            "disks": [{"boot": True, "source": f"{_zone_url(p, 'us-central1-a')}/disks/web-1", "deviceName": "web-1"}],
            "serviceAccounts": [{"email": default_sa, "scopes": [CLOUD_PLATFORM]}],
            "metadata": {
                "items": [
                    {"key": "serial-port-enable", "value": "true"},
                    {"key": "enable-oslogin", "value": "FALSE"},
                ]
            },
            "shieldedInstanceConfig": {
                "enableSecureBoot": False,
                "enableVtpm": True,
                "enableIntegrityMonitoring": False,
            },
            "deletionProtection": False,
        },
        {
            "id": "1002",
            "name": "app-1",
            "zone": _zone_url(p, "europe-west1-b"),
            "selfLink": f"{_zone_url(p, 'europe-west1-b')}/instances/app-1",
            "machineType": f"{_zone_url(p, 'europe-west1-b')}/machineTypes/n2-standard-4",
            "status": "RUNNING",
            "creationTimestamp": "2024-03-01T00:00:00.000-00:00",
            "canIpForward": False,
            "tags": {"items": ["app"]},
            "labels": {"env": "prod"},
            "networkInterfaces": [
                {
                    "network": _global_url(p, "networks", "prod-vpc"),
                    "subnetwork": f"{_region_url(p, 'europe-west1')}/subnetworks/prod-eu",
                    "networkIP": "10.10.0.5",
                }
            ],
            "disks": [{"boot": True, "source": f"{_zone_url(p, 'europe-west1-b')}/disks/app-1", "deviceName": "app-1"}],
            "serviceAccounts": [{"email": app_sa, "scopes": ["https://www.googleapis.com/auth/devstorage.read_only"]}],
            "metadata": {"items": [{"key": "block-project-ssh-keys", "value": "true"}]},
            "shieldedInstanceConfig": {"enableSecureBoot": True, "enableVtpm": True, "enableIntegrityMonitoring": True},
            "confidentialInstanceConfig": {"enableConfidentialCompute": True},
            "deletionProtection": True,
        },
        {
            "id": "1003",
            "name": "batch-1",
            "zone": _zone_url(p, "us-central1-b"),
            "selfLink": f"{_zone_url(p, 'us-central1-b')}/instances/batch-1",
            "machineType": f"{_zone_url(p, 'us-central1-b')}/machineTypes/e2-small",
            "status": "TERMINATED",
            "creationTimestamp": "2023-06-01T00:00:00.000-00:00",
            "networkInterfaces": [
                {
                    "network": _global_url(p, "networks", "prod-vpc"),
                    "subnetwork": f"{_region_url(p, 'us-central1')}/subnetworks/prod-us",
                    "networkIP": "10.20.0.7",
                }
            ],
            "disks": [],
            "serviceAccounts": [],
        },
    ]
    disks = [
        {
            "id": "2001",
            "name": "web-1",
            "zone": _zone_url(p, "us-central1-a"),
            "selfLink": f"{_zone_url(p, 'us-central1-a')}/disks/web-1",
            "sizeGb": "10",
            "status": "READY",
            "type": f"{_zone_url(p, 'us-central1-a')}/diskTypes/pd-balanced",
            "users": [f"{_zone_url(p, 'us-central1-a')}/instances/web-1"],
            "sourceImage": _global_url("debian-cloud", "images", "debian-12-bookworm-v20240110"),
            "creationTimestamp": "2024-01-02T03:04:05.000-08:00",
        },
        {
            "id": "2002",
            "name": "app-1",
            "zone": _zone_url(p, "europe-west1-b"),
            "selfLink": f"{_zone_url(p, 'europe-west1-b')}/disks/app-1",
            "sizeGb": "100",
            "status": "READY",
            "type": f"{_zone_url(p, 'europe-west1-b')}/diskTypes/pd-ssd",
            "users": [f"{_zone_url(p, 'europe-west1-b')}/instances/app-1"],
            "diskEncryptionKey": {"kmsKeyName": f"{disk_key}/cryptoKeyVersions/1"},
            "creationTimestamp": "2024-03-01T00:00:00.000-00:00",
            "labels": {"env": "prod"},
        },
        {
            "id": "2003",
            "name": "orphan",
            "zone": _zone_url(p, "us-central1-a"),
            "selfLink": f"{_zone_url(p, 'us-central1-a')}/disks/orphan",
            "sizeGb": "50",
            "status": "READY",
            "type": f"{_zone_url(p, 'us-central1-a')}/diskTypes/pd-standard",
            "creationTimestamp": "2022-01-01T00:00:00.000-00:00",
        },
    ]

    def firewall(name: str, network: str, **fields: Any) -> dict:
        record = {
            "id": str(3000 + len(name)),
            "name": name,
            "network": _global_url(p, "networks", network),
            "selfLink": _global_url(p, "firewalls", name),
            "direction": "INGRESS",
            "priority": 1000,
            "disabled": False,
            "creationTimestamp": "2024-01-01T00:00:00.000-00:00",
        }
        record.update(fields)
        return record

    firewalls = [
        firewall(
            "default-allow-ssh",
            "default",
            description="Allow SSH from anywhere",
            sourceRanges=["0.0.0.0/0"],
            allowed=[{"IPProtocol": "tcp", "ports": ["22"]}],
            priority=65534,
        ),
        firewall(
            "allow-rdp-world",
            "prod-vpc",
            sourceRanges=["0.0.0.0/0", "::/0"],
            allowed=[{"IPProtocol": "tcp", "ports": ["3389"]}],
            targetTags=["windows"],
            logConfig={"enable": False},
        ),
        firewall(
            "allow-internal",
            "prod-vpc",
            sourceRanges=["10.0.0.0/8"],
            allowed=[{"IPProtocol": "tcp", "ports": ["0-65535"]}, {"IPProtocol": "udp"}, {"IPProtocol": "icmp"}],
            logConfig={"enable": True},
        ),
        firewall(
            "allow-ssh-from-bastion",
            "prod-vpc",
            sourceTags=["bastion"],
            allowed=[{"IPProtocol": "tcp", "ports": ["22", "8000-8080"]}],
            targetServiceAccounts=[app_sa],
        ),
        firewall(
            "deny-all-egress",
            "prod-vpc",
            direction="EGRESS",
            destinationRanges=["0.0.0.0/0"],
            denied=[{"IPProtocol": "all"}],
            priority=65000,
        ),
        firewall(
            "disabled-open-all",
            "prod-vpc",
            sourceRanges=["0.0.0.0/0"],
            allowed=[{"IPProtocol": "all"}],
            disabled=True,
        ),
    ]
    networks = [
        {
            "id": "4001",
            "name": "default",
            "selfLink": _global_url(p, "networks", "default"),
            "autoCreateSubnetworks": True,
            "routingConfig": {"routingMode": "REGIONAL"},
            "subnetworks": [f"{_region_url(p, 'us-central1')}/subnetworks/default"],
            "creationTimestamp": "2023-01-01T00:00:00.000-00:00",
        },
        {
            "id": "4002",
            "name": "prod-vpc",
            "selfLink": _global_url(p, "networks", "prod-vpc"),
            "autoCreateSubnetworks": False,
            "routingConfig": {"routingMode": "GLOBAL"},
            "subnetworks": [
                f"{_region_url(p, 'europe-west1')}/subnetworks/prod-eu",
                f"{_region_url(p, 'us-central1')}/subnetworks/prod-us",
            ],
            "creationTimestamp": "2023-02-01T00:00:00.000-00:00",
        },
        {
            "id": "4003",
            "name": "legacy-net",
            "selfLink": _global_url(p, "networks", "legacy-net"),
            "IPv4Range": "10.240.0.0/16",
            "gatewayIPv4": "10.240.0.1",
            "creationTimestamp": "2015-01-01T00:00:00.000-00:00",
        },
    ]
    subnetworks = [
        {
            "id": "5001",
            "name": "default",
            "region": _region_url(p, "us-central1"),
            "network": _global_url(p, "networks", "default"),
            "selfLink": f"{_region_url(p, 'us-central1')}/subnetworks/default",
            "ipCidrRange": "10.128.0.0/20",
            "privateIpGoogleAccess": False,
            "purpose": "PRIVATE",
        },
        {
            "id": "5002",
            "name": "prod-eu",
            "region": _region_url(p, "europe-west1"),
            "network": _global_url(p, "networks", "prod-vpc"),
            "selfLink": f"{_region_url(p, 'europe-west1')}/subnetworks/prod-eu",
            "ipCidrRange": "10.10.0.0/24",
            "privateIpGoogleAccess": True,
            "logConfig": {"enable": True, "aggregationInterval": "INTERVAL_5_SEC", "flowSampling": 0.5},
            "secondaryIpRanges": [{"rangeName": "pods", "ipCidrRange": "10.100.0.0/16"}],
            "purpose": "PRIVATE",
        },
        {
            "id": "5003",
            "name": "prod-us",
            "region": _region_url(p, "us-central1"),
            "network": _global_url(p, "networks", "prod-vpc"),
            "selfLink": f"{_region_url(p, 'us-central1')}/subnetworks/prod-us",
            "ipCidrRange": "10.20.0.0/24",
            "privateIpGoogleAccess": False,
            "enableFlowLogs": True,
            "purpose": "PRIVATE",
        },
    ]
    snapshots = [
        {
            "id": "6001",
            "name": "web-1-daily",
            "selfLink": _global_url(p, "snapshots", "web-1-daily"),
            "sourceDisk": f"{_zone_url(p, 'us-central1-a')}/disks/web-1",
            "diskSizeGb": "10",
            "status": "READY",
            "storageLocations": ["us"],
            "creationTimestamp": "2024-05-01T00:00:00.000-00:00",
        },
        {
            "id": "6002",
            "name": "app-1-daily",
            "selfLink": _global_url(p, "snapshots", "app-1-daily"),
            "sourceDisk": f"{_zone_url(p, 'europe-west1-b')}/disks/app-1",
            "diskSizeGb": "100",
            "status": "READY",
            "storageLocations": ["eu"],
            "snapshotEncryptionKey": {"kmsKeyName": f"{disk_key}/cryptoKeyVersions/1"},
            "creationTimestamp": "2024-05-02T00:00:00.000-00:00",
        },
    ]
    images = [
        {
            "id": "7001",
            "name": "golden-image",
            "selfLink": _global_url(p, "images", "golden-image"),
            "family": "golden",
            "status": "READY",
            "diskSizeGb": "10",
            "creationTimestamp": "2024-04-01T00:00:00.000-00:00",
        },
        {
            "id": "7002",
            "name": "private-image",
            "selfLink": _global_url(p, "images", "private-image"),
            "status": "READY",
            "diskSizeGb": "20",
            "imageEncryptionKey": {"kmsKeyName": f"{disk_key}/cryptoKeyVersions/1"},
            "creationTimestamp": "2024-04-02T00:00:00.000-00:00",
        },
    ]
    buckets = [
        {
            "kind": "storage#bucket",
            "id": "acme-public-assets",
            "name": "acme-public-assets",
            "projectNumber": "111111111111",
            "location": "US",
            "storageClass": "STANDARD",
            "timeCreated": "2023-05-01T00:00:00.000Z",
            "iamConfiguration": {
                "uniformBucketLevelAccess": {"enabled": False},
                "publicAccessPrevention": "inherited",
            },
            "acl": [
                {"entity": "project-owners-111111111111", "role": "OWNER"},
                {"entity": "allAuthenticatedUsers", "role": "READER"},
            ],
            "labels": {"team": "web"},
        },
        {
            "kind": "storage#bucket",
            "id": "acme-audit-logs",
            "name": "acme-audit-logs",
            "projectNumber": "111111111111",
            "location": "EUROPE-WEST1",
            "storageClass": "STANDARD",
            "timeCreated": "2023-05-02T00:00:00.000Z",
            "iamConfiguration": {
                "uniformBucketLevelAccess": {"enabled": True, "lockedTime": "2023-08-01T00:00:00Z"},
                "publicAccessPrevention": "enforced",
            },
            "versioning": {"enabled": True},
            "logging": {"logBucket": "acme-access-logs", "logObjectPrefix": "audit"},
            "retentionPolicy": {
                "retentionPeriod": "7776000",
                "isLocked": True,
                "effectiveTime": "2023-05-02T00:00:00Z",
            },
            "encryption": {"defaultKmsKeyName": f"{kms}/europe-west1/keyRings/ring/cryptoKeys/bucket-key"},
        },
        {
            "kind": "storage#bucket",
            "id": "acme-team-share",
            "name": "acme-team-share",
            "projectNumber": "111111111111",
            "location": "US-CENTRAL1",
            "storageClass": "NEARLINE",
            "timeCreated": "2023-05-03T00:00:00.000Z",
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}, "publicAccessPrevention": "inherited"},
        },
    ]
    service_accounts = [
        {
            "name": f"projects/{p}/serviceAccounts/{default_sa}",
            "projectId": p,
            "uniqueId": "9001",
            "email": default_sa,
            "displayName": "Compute Engine default service account",
        },
        {
            "name": f"projects/{p}/serviceAccounts/{app_sa}",
            "projectId": p,
            "uniqueId": "9002",
            "email": app_sa,
            "displayName": "Application",
        },
        {
            "name": f"projects/{p}/serviceAccounts/{ci_sa}",
            "projectId": p,
            "uniqueId": "9003",
            "email": ci_sa,
            "displayName": "CI deployer",
            "disabled": False,
        },
    ]
    service_account_keys = {
        app_sa: [
            {
                "name": f"projects/{p}/serviceAccounts/{app_sa}/keys/aaa111",
                "validAfterTime": _days_ago(400),
                "validBeforeTime": "9999-12-31T23:59:59Z",
                "keyAlgorithm": "KEY_ALG_RSA_2048",
                "keyOrigin": "GOOGLE_PROVIDED",
                "keyType": "USER_MANAGED",
            },
            {
                "name": f"projects/{p}/serviceAccounts/{app_sa}/keys/sys222",
                "validAfterTime": _days_ago(3),
                "validBeforeTime": "2030-01-01T00:00:00Z",
                "keyAlgorithm": "KEY_ALG_RSA_2048",
                "keyOrigin": "GOOGLE_PROVIDED",
                "keyType": "SYSTEM_MANAGED",
            },
        ],
        ci_sa: [
            {
                "name": f"projects/{p}/serviceAccounts/{ci_sa}/keys/ccc333",
                "validAfterTime": _days_ago(10),
                "validBeforeTime": "9999-12-31T23:59:59Z",
                "keyAlgorithm": "KEY_ALG_RSA_2048",
                "keyOrigin": "GOOGLE_PROVIDED",
                "keyType": "USER_MANAGED",
                "disabled": False,
            }
        ],
    }
    sql_instances = [
        {
            "kind": "sql#instance",
            "name": "prod-pg",
            "project": p,
            "region": "us-central1",
            "gceZone": "us-central1-a",
            "databaseVersion": "POSTGRES_14",
            "state": "RUNNABLE",
            "backendType": "SECOND_GEN",
            "instanceType": "CLOUD_SQL_INSTANCE",
            "connectionName": f"{p}:us-central1:prod-pg",
            "selfLink": f"https://sqladmin.googleapis.com/v1/projects/{p}/instances/prod-pg",
            "ipAddresses": [{"type": "PRIMARY", "ipAddress": "35.10.10.10"}],
            "settings": {
                "tier": "db-custom-2-7680",
                "availabilityType": "ZONAL",
                "ipConfiguration": {
                    "ipv4Enabled": True,
                    "requireSsl": False,
                    "sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
                    "authorizedNetworks": [{"value": "0.0.0.0/0", "name": "anywhere"}],
                },
                "backupConfiguration": {"enabled": False},
                "databaseFlags": [{"name": "log_connections", "value": "off"}],
                "userLabels": {"env": "prod"},
            },
            "createTime": "2023-09-01T00:00:00.000Z",
        },
        {
            "kind": "sql#instance",
            "name": "secure-mysql",
            "project": p,
            "region": "europe-west1",
            "gceZone": "europe-west1-b",
            "databaseVersion": "MYSQL_8_0_31",
            "state": "RUNNABLE",
            "backendType": "SECOND_GEN",
            "instanceType": "CLOUD_SQL_INSTANCE",
            "connectionName": f"{p}:europe-west1:secure-mysql",
            "selfLink": f"https://sqladmin.googleapis.com/v1/projects/{p}/instances/secure-mysql",
            "ipAddresses": [{"type": "PRIVATE", "ipAddress": "10.10.0.50"}],
            "diskEncryptionConfiguration": {"kmsKeyName": f"{kms}/europe-west1/keyRings/ring/cryptoKeys/sql-key"},
            "settings": {
                "tier": "db-n1-standard-2",
                "availabilityType": "REGIONAL",
                "ipConfiguration": {
                    "ipv4Enabled": False,
                    "requireSsl": True,
                    "sslMode": "TRUSTED_CLIENT_CERTIFICATE_REQUIRED",
                    "privateNetwork": f"projects/{p}/global/networks/prod-vpc",
                    "authorizedNetworks": [],
                },
                "backupConfiguration": {
                    "enabled": True,
                    "binaryLogEnabled": True,
                    "backupRetentionSettings": {"retentionUnit": "COUNT", "retainedBackups": 14},
                    "transactionLogRetentionDays": 7,
                },
                "databaseFlags": [{"name": "local_infile", "value": "off"}],
            },
            "createTime": "2023-09-02T00:00:00.000Z",
        },
    ]
    kms_locations = [
        {"name": f"{kms}/global", "locationId": "global"},
        {"name": f"{kms}/europe-west1", "locationId": "europe-west1"},
        {"name": f"{kms}/us", "locationId": "us"},
    ]
    key_rings = [
        {"name": f"{kms}/europe-west1/keyRings/ring", "createTime": "2023-01-01T00:00:00Z"},
        {"name": f"{kms}/global/keyRings/app-ring", "createTime": "2023-01-02T00:00:00Z"},
    ]

    def crypto_key(name: str, ring: str, **fields: Any) -> dict:
        record = {
            "name": f"{ring}/cryptoKeys/{name}",
            "purpose": "ENCRYPT_DECRYPT",
            "createTime": "2023-01-01T00:00:00Z",
            "primary": {"name": f"{ring}/cryptoKeys/{name}/cryptoKeyVersions/1", "state": "ENABLED"},
            "versionTemplate": {"protectionLevel": "SOFTWARE", "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION"},
        }
        record.update(fields)
        return record

    crypto_keys = [
        crypto_key(
            "disk-key",
            key_rings[0]["name"],
            rotationPeriod="7776000s",
            nextRotationTime="2025-01-01T00:00:00Z",
            versionTemplate={"protectionLevel": "HSM", "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION"},
        ),
        crypto_key("bucket-key", key_rings[0]["name"], rotationPeriod="31536000s"),
        crypto_key("sql-key", key_rings[0]["name"], rotationPeriod="2592000s"),
        crypto_key("no-rotation", key_rings[1]["name"]),
        crypto_key(
            "retired",
            key_rings[1]["name"],
            primary={"name": f"{key_rings[1]['name']}/cryptoKeys/retired/cryptoKeyVersions/3", "state": "DISABLED"},
        ),
    ]
    clusters = [
        {
            "name": "legacy-cluster",
            "location": "us-central1-a",
            "zone": "us-central1-a",
            "selfLink": f"https://container.googleapis.com/v1/projects/{p}/zones/us-central1-a/clusters/legacy-cluster",
            "status": "RUNNING",
            "currentMasterVersion": "1.27.3-gke.100",
            "endpoint": "35.20.20.20",
            "network": "default",
            "subnetwork": "default",
            "legacyAbac": {"enabled": True},
            "masterAuth": {"username": "admin", "clientCertificateConfig": {"issueClientCertificate": True}},
            "networkPolicy": {"provider": "PROVIDER_UNSPECIFIED", "enabled": False},
            "loggingService": "none",
            "monitoringService": "none",
            "resourceLabels": {"env": "legacy"},
            "createTime": "2022-01-01T00:00:00+00:00",
        },
        {
            "name": "hardened-cluster",
            "location": "europe-west1",
            "zone": "europe-west1",
            "selfLink": f"https://container.googleapis.com/v1/projects/{p}/locations/europe-west1/clusters/hardened-cluster",
            "status": "RUNNING",
            "currentMasterVersion": "1.29.1-gke.200",
            "endpoint": "10.10.0.2",
            "network": "prod-vpc",
            "subnetwork": "prod-eu",
            "legacyAbac": {},
            "masterAuth": {"clusterCaCertificate": "LS0t"},
            "privateClusterConfig": {
                "enablePrivateNodes": True,
                "enablePrivateEndpoint": True,
                "privateEndpoint": "10.10.0.2",
            },
            "masterAuthorizedNetworksConfig": {"enabled": True, "cidrBlocks": [{"cidrBlock": "10.0.0.0/8"}]},
            "networkConfig": {"datapathProvider": "ADVANCED_DATAPATH"},
            "loggingService": "logging.googleapis.com/kubernetes",
            "loggingConfig": {"componentConfig": {"enableComponents": ["SYSTEM_COMPONENTS", "WORKLOADS"]}},
            "monitoringService": "monitoring.googleapis.com/kubernetes",
            "shieldedNodes": {"enabled": True},
            "workloadIdentityConfig": {"workloadPool": f"{p}.svc.id.goog"},
            "binaryAuthorization": {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"},
            "createTime": "2024-01-01T00:00:00+00:00",
        },
    ]
    sinks = [
        {
            "name": "all-logs-to-bucket",
            "destination": "storage.googleapis.com/acme-audit-logs",
            "filter": "",
            "writerIdentity": "serviceAccount:p111-000@gcp-sa-logging.iam.gserviceaccount.com",
            "createTime": "2023-01-01T00:00:00Z",
        },
        {
            "name": "audit-to-bigquery",
            "destination": f"bigquery.googleapis.com/projects/{p}/datasets/audit",
            "filter": 'logName:"cloudaudit.googleapis.com"',
            "disabled": True,
            "createTime": "2023-01-02T00:00:00Z",
        },
    ]
    metrics = [
        {
            "name": "owner-changes",
            "description": "Project ownership assignments/changes",
            "filter": '(protoPayload.serviceName="cloudresourcemanager.googleapis.com") AND '
            "(ProjectOwnership OR projectOwnerInvitee) OR (protoPayload.serviceData.policyDelta.bindingDeltas."
            'action="REMOVE" AND protoPayload.serviceData.policyDelta.bindingDeltas.role="roles/owner")',
            "metricDescriptor": {"metricKind": "DELTA", "valueType": "INT64"},
            "createTime": "2023-01-01T00:00:00Z",
        },
        {
            "name": "audit-config-changes",
            "filter": 'protoPayload.methodName="SetIamPolicy" AND '
            "protoPayload.serviceData.policyDelta.auditConfigDeltas:*",
            "metricDescriptor": {"metricKind": "DELTA", "valueType": "INT64"},
            "disabled": False,
        },
    ]
    prod = {
        "project": {
            "name": "projects/111111111111",
            "projectId": p,
            "parent": "folders/200",
            "displayName": "Acme production",
            "state": "ACTIVE",
            "labels": {"env": "prod"},
            "createTime": "2022-12-01T00:00:00Z",
        },
        "compute_project": {
            "name": p,
            "id": "111111111111",
            "commonInstanceMetadata": {"items": [{"key": "enable-oslogin", "value": "TRUE"}]},
            "defaultServiceAccount": default_sa,
        },
        "regions": ["us-central1", "europe-west1", "asia-east1"],
        "instances": instances,
        "disks": disks,
        "firewalls": firewalls,
        "networks": networks,
        "subnetworks": subnetworks,
        "snapshots": snapshots,
        "images": images,
        "buckets": buckets,
        "service_accounts": service_accounts,
        "service_account_keys": service_account_keys,
        "sql_instances": sql_instances,
        "kms_locations": kms_locations,
        "key_rings": key_rings,
        "crypto_keys": crypto_keys,
        "clusters": clusters,
        "sinks": sinks,
        "metrics": metrics,
    }
    iam_policies = {
        f"projects/{p}": {
            "version": 3,
            "etag": "BwX1",
            "bindings": [
                {"role": "roles/owner", "members": ["user:alice@acme.example"]},
                {"role": "roles/editor", "members": [f"serviceAccount:{ci_sa}", f"serviceAccount:{default_sa}"]},
                {"role": "roles/viewer", "members": [ALL_AUTHENTICATED]},
                {"role": "roles/storage.objectViewer", "members": [f"serviceAccount:{app_sa}"]},
            ],
            "auditConfigs": [
                {
                    "service": "allServices",
                    "auditLogConfigs": [
                        {"logType": "ADMIN_READ"},
                        {"logType": "DATA_READ", "exemptedMembers": ["user:bob@acme.example"]},
                        {"logType": "DATA_WRITE"},
                    ],
                }
            ],
        },
        "projects/acme-dev": {
            "version": 1,
            "bindings": [{"role": "roles/owner", "members": ["group:dev-admins@acme.example"]}],
        },
        "b/acme-public-assets": {
            "bindings": [
                {"role": "roles/storage.objectViewer", "members": [ALL_USERS]},
                {"role": "roles/storage.legacyBucketOwner", "members": ["projectOwner:acme-prod"]},
            ]
        },
        "b/acme-audit-logs": {
            "bindings": [{"role": "roles/storage.admin", "members": ["group:security@acme.example"]}],
        },
        "b/acme-team-share": {
            "bindings": [{"role": "roles/storage.objectViewer", "members": ["domain:partner.example"]}],
        },
        f"projects/{p}/global/snapshots/web-1-daily": {
            "bindings": [{"role": "roles/compute.storageAdmin", "members": ["user:contractor@other.example"]}],
        },
        f"projects/{p}/global/images/golden-image": {
            "bindings": [{"role": "roles/compute.imageUser", "members": [ALL_AUTHENTICATED]}],
        },
        f"projects/{p}/global/images/private-image": {
            "bindings": [{"role": "roles/compute.imageUser", "members": ["user:partner@partner.example"]}],
        },
        f"{key_rings[1]['name']}/cryptoKeys/no-rotation": {
            "bindings": [{"role": "roles/cloudkms.cryptoKeyEncrypterDecrypter", "members": [ALL_USERS]}],
        },
    }
    dev = {
        "project": {
            "name": "projects/222222222222",
            "projectId": "acme-dev",
            "parent": "organizations/100",
            "displayName": "Acme development",
            "state": "ACTIVE",
        },
        "compute_project": {"name": "acme-dev", "id": "222222222222", "commonInstanceMetadata": {}},
        "regions": ["us-central1"],
    }
    deleted = {
        "project": {
            "name": "projects/333333333333",
            "projectId": "acme-old",
            "parent": "folders/200",
            "displayName": "Deleted project",
            "state": "DELETE_REQUESTED",
        },
    }
    lonely = {
        "project": {
            "name": "projects/444444444444",
            "projectId": "lonely-project",
            "parent": "organizations/999",
            "displayName": "Outside the organization",
            "state": "ACTIVE",
        },
    }
    return {
        "folders": [
            {"name": "folders/200", "parent": "organizations/100", "displayName": "prod", "state": "ACTIVE"},
            {"name": "folders/201", "parent": "folders/200", "displayName": "empty", "state": "ACTIVE"},
        ],
        "projects": {"acme-prod": prod, "acme-dev": dev, "acme-old": deleted, "lonely-project": lonely},
        "iam_policies": iam_policies,
    }


class _Failure:
    def __init__(self, pattern: str, status: int, times: int, reason: str | None) -> None:
        self.pattern, self.status, self.remaining, self.reason = pattern, status, times, reason


class GcpFake:
    """Start with :meth:`start`, stop with :meth:`stop`; ``url`` is the base for every API."""

    def __init__(self, page_size: int = 2, tls_dir: str | None = None) -> None:
        """``tls_dir``: serve HTTPS with a self-signed certificate for 127.0.0.1 written there (``ca_file``)."""
        self.page_size = page_size
        self.tls_dir = tls_dir
        self.ca_file: str | None = None
        self.state: dict[str, Any] = default_estate()
        self.requests: list[tuple[str, str]] = []  # (method, path?query) of every API request
        self.token_requests = 0
        self.time_series: list[dict] = []  # every series written through monitoring timeSeries.create
        self._keys: dict[str, Any] = {}  # private_key_id -> public key
        self._tokens: dict[str, str] = {}  # access token -> client_email
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle and test controls ------------------------------------------------------

    def start(self) -> GcpFake:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        if self.tls_dir:
            self.ca_file, key_file = _self_signed_certificate(self.tls_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.ca_file, key_file)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="gcp-fake", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server, "start the fake first"
        scheme = "https" if self.tls_dir else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def token_uri(self) -> str:
        return self.url + "token"

    def service_account_key(
        self, email: str = "insightcloud@acme-prod.iam.gserviceaccount.com", universe_domain: str = "googleapis.com"
    ) -> dict:
        """A new JSON key the token endpoint accepts (its token_uri points at this fake)."""
        private = _rsa_key()
        key_id = secrets.token_hex(20)
        self._keys[key_id] = (email, private.public_key())
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return {
            "type": "service_account",
            "project_id": email.split("@", 1)[1].split(".", 1)[0],
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": email,
            "client_id": "1234567890",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
            "universe_domain": universe_domain,
        }

    def revoke(self, key: dict) -> None:
        """Forget a key, as if it were deleted in IAM: its next token request is refused."""
        self._keys.pop(key["private_key_id"], None)
        self._tokens.clear()

    def fail(self, path_or_action: str, status: int, times: int = 1, reason: str | None = None) -> None:
        """The next ``times`` requests whose path (with query) contains the pattern answer ``status``.

        ``reason`` is Google's machine-readable reason (``rateLimitExceeded``, ``SERVICE_DISABLED`` …).
        """
        with self._lock:
            self._failures.append(_Failure(path_or_action, status, times, reason))

    def project(self, project_id: str) -> dict:
        return self.state["projects"][project_id]

    def count(self, fragment: str) -> int:
        """How many API requests had ``fragment`` in their path (with query)."""
        return sum(1 for _, path in self.requests if fragment in path)

    # --- internals used by the handler ------------------------------------------------------

    def _take_failure(self, target: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.remaining > 0 and failure.pattern in target:
                    failure.remaining -= 1
                    return failure
        return None

    def _issue_token(self, assertion: str) -> str | None:
        self.token_requests += 1
        email = self._verify_jwt(assertion)
        if email is None:
            return None
        token = "ya29.fake-" + secrets.token_urlsafe(16)
        self._tokens[token] = email
        return token

    def _authorized(self, bearer: str) -> bool:
        """An access token we issued, or a self-signed JWT from a key we know (JWT access, as Google allows)."""
        return bearer in self._tokens or (bearer.count(".") == 2 and self._verify_jwt(bearer) is not None)

    def _verify_jwt(self, assertion: str) -> str | None:
        """The issuer of an RS256 JWT signed by one of our keys, None if it is not."""
        try:
            header_b64, payload_b64, signature_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(header_b64))
            payload = json.loads(_b64url_decode(payload_b64))
            email, public_key = self._keys[header["kid"]]
            public_key.verify(
                _b64url_decode(signature_b64),
                f"{header_b64}.{payload_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception:
            return None
        if payload.get("iss") != email or payload.get("exp", 0) < time.time():
            return None
        return email


class _Handler(BaseHTTPRequestHandler):
    fake: GcpFake
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms delayed-ACK stalls

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # --- plumbing -------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parsed = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parsed.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        target = f"{path}?{parsed.query}" if parsed.query else path
        self.body = body
        if path == "/token" and method == "POST":
            return self._token(body)
        self.fake.requests.append((method, target))
        failure = self.fake._take_failure(target)
        if failure:
            return self._error(failure.status, f"injected failure {failure.status}", failure.reason)
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not self.fake._authorized(auth[7:]):
            return self._error(401, "Request had invalid authentication credentials.")
        for pattern, handler_name, verb in ROUTES:
            match = pattern.fullmatch(path)
            if match and verb == method:
                try:
                    return getattr(self, handler_name)(query, *match.groups())
                except KeyError as exc:
                    return self._error(404, f"The resource {exc} was not found")
        return self._error(404, f"no fake route for {method} {path}")

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, reason: str | None = None) -> None:
        defaults = {429: "rateLimitExceeded", 403: "forbidden", 404: "notFound", 401: "authError"}
        reason = reason or defaults.get(status, "backendError")
        self._send(
            status,
            {
                "error": {
                    "code": status,
                    "message": message,
                    "status": STATUS_NAMES.get(status, "UNKNOWN"),
                    "errors": [{"reason": reason, "message": message, "domain": "global"}],
                }
            },
        )

    def _token(self, body: bytes) -> None:
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._send(400, {"error": "unsupported_grant_type"})
        token = self.fake._issue_token(form.get("assertion", ""))
        if not token:
            return self._send(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        self._send(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _page(self, query: dict, items: list, key: str, size_param: str = "maxResults", **extra: Any) -> None:
        requested = int(query.get(size_param) or 0) or self.fake.page_size
        size = min(requested, self.fake.page_size)
        start = int(query.get("pageToken") or 0)
        chunk = copy.deepcopy(items[start : start + size])
        payload: dict[str, Any] = {**extra}
        if chunk:
            payload[key] = chunk
        if start + size < len(items):
            payload["nextPageToken"] = str(start + size)
        self._send(200, payload)

    def _project(self, project: str) -> dict:
        return self.fake.state["projects"][project]

    def _policy(self, resource: str) -> dict:
        return copy.deepcopy(self.fake.state["iam_policies"].get(resource, {"etag": "ACAB"}))

    # --- compute -----------------------------------------------------------------------------

    def compute_project(self, query: dict, project: str) -> None:
        self._send(200, self._project(project).get("compute_project", {"name": project}))

    def compute_regions(self, query: dict, project: str) -> None:
        regions = [
            {"name": name, "status": "UP", "selfLink": _region_url(project, name)}
            for name in self._project(project).get("regions", [])
        ]
        self._page(query, regions, "items", kind="compute#regionList")

    def compute_aggregated(self, query: dict, project: str, kind: str) -> None:
        items = self._project(project).get(kind, [])
        requested = int(query.get("maxResults") or 0) or self.fake.page_size
        size = min(requested, self.fake.page_size)
        start = int(query.get("pageToken") or 0)
        grouped: dict[str, dict] = {}
        for item in items[start : start + size]:
            location = item.get("zone") or item.get("region")
            scope = "/".join(location.rsplit("/", 2)[-2:])
            grouped.setdefault(scope, {kind: []})[kind].append(copy.deepcopy(item))
        # Google reports scopes without resources with a warning, not an absence.
        grouped.setdefault(
            "zones/asia-east1-a", {"warning": {"code": "NO_RESULTS_ON_PAGE", "message": "There are no results"}}
        )
        payload: dict[str, Any] = {"kind": f"compute#{kind}AggregatedList", "items": grouped}
        if start + size < len(items):
            payload["nextPageToken"] = str(start + size)
        self._send(200, payload)

    def compute_global(self, query: dict, project: str, kind: str) -> None:
        self._page(query, self._project(project).get(kind, []), "items", kind=f"compute#{kind}List")

    def compute_policy(self, query: dict, project: str, kind: str, name: str) -> None:
        self._send(200, self._policy(f"projects/{project}/global/{kind}/{name}"))

    # --- storage -----------------------------------------------------------------------------

    def storage_buckets(self, query: dict) -> None:
        buckets = self._project(query["project"]).get("buckets", [])
        if query.get("projection") != "full":
            buckets = [{k: v for k, v in b.items() if k not in ("acl", "defaultObjectAcl")} for b in buckets]
        self._page(query, buckets, "items", kind="storage#buckets")

    def storage_bucket_policy(self, query: dict, bucket: str) -> None:
        self._send(
            200, {"kind": "storage#policy", "resourceId": f"projects/_/buckets/{bucket}", **self._policy(f"b/{bucket}")}
        )

    # --- iam ---------------------------------------------------------------------------------

    def iam_service_accounts(self, query: dict, project: str) -> None:
        self._page(query, self._project(project).get("service_accounts", []), "accounts", "pageSize")

    def iam_keys(self, query: dict, project: str, account: str) -> None:
        keys = self._project(project).get("service_account_keys", {}).get(account, [])
        wanted = query.get("keyTypes")
        if wanted:
            keys = [k for k in keys if k.get("keyType") == wanted]
        self._send(200, {"keys": copy.deepcopy(keys)} if keys else {})

    # --- sqladmin, container, logging ----------------------------------------------------------

    def sql_instances(self, query: dict, project: str) -> None:
        self._page(query, self._project(project).get("sql_instances", []), "items", kind="sql#instancesList")

    def gke_clusters(self, query: dict, project: str, location: str) -> None:
        clusters = self._project(project).get("clusters", [])
        if location != "-":
            clusters = [c for c in clusters if c["location"] == location]
        self._send(200, {"clusters": copy.deepcopy(clusters)} if clusters else {})

    def logging_list(self, query: dict, project: str, kind: str) -> None:
        self._page(query, self._project(project).get(kind, []), kind, "pageSize")

    # --- cloudkms ----------------------------------------------------------------------------

    def kms_locations(self, query: dict, project: str) -> None:
        self._page(query, self._project(project).get("kms_locations", []), "locations", "pageSize")

    def kms_key_rings(self, query: dict, project: str, location: str) -> None:
        prefix = f"projects/{project}/locations/{location}/keyRings/"
        rings = [r for r in self._project(project).get("key_rings", []) if r["name"].startswith(prefix)]
        self._page(query, rings, "keyRings", "pageSize", totalSize=len(rings))

    def kms_crypto_keys(self, query: dict, ring: str) -> None:
        project = ring.split("/")[1]
        keys = [k for k in self._project(project).get("crypto_keys", []) if k["name"].startswith(ring + "/cryptoKeys/")]
        self._page(query, keys, "cryptoKeys", "pageSize", totalSize=len(keys))

    def kms_key_policy(self, query: dict, key: str) -> None:
        self._send(200, self._policy(key))

    # --- cloudresourcemanager ------------------------------------------------------------------

    def _all_projects(self) -> list[dict]:
        return [p["project"] for p in self.fake.state["projects"].values()]

    def crm_project(self, query: dict, project: str) -> None:
        for record in self._all_projects():
            if project in (record["projectId"], record["name"].split("/")[1]):
                return self._send(200, copy.deepcopy(record))
        self._error(403, f"The caller does not have permission on projects/{project}")

    def crm_project_policy(self, query: dict, project: str) -> None:
        for record in self._all_projects():
            if project in (record["projectId"], record["name"].split("/")[1]):
                return self._send(200, self._policy(f"projects/{record['projectId']}"))
        self._error(403, f"The caller does not have permission on projects/{project}")

    def crm_projects(self, query: dict) -> None:
        parent = query.get("parent", "")
        deleted = query.get("showDeleted") == "true"
        found = [p for p in self._all_projects() if p["parent"] == parent and (deleted or p["state"] == "ACTIVE")]
        self._page(query, found, "projects", "pageSize")

    def crm_search(self, query: dict) -> None:
        match = re.fullmatch(r"parent:(\S+)", query.get("query", ""))
        found = [p for p in self._all_projects() if not match or p["parent"] == match.group(1)]
        self._page(query, found, "projects", "pageSize")

    def crm_folders(self, query: dict) -> None:
        parent = query.get("parent", "")
        found = [f for f in self.fake.state["folders"] if f["parent"] == parent and f["state"] == "ACTIVE"]
        self._page(query, found, "folders", "pageSize")

    def monitoring_create_time_series(self, query: dict, project: str) -> None:
        """Checks the request as Cloud Monitoring does (custom metric, one point, a typed value),
        keeps every series in ``fake.time_series`` and answers with an empty object."""
        try:
            series = json.loads(self.body)["timeSeries"]
        except (ValueError, KeyError, TypeError):
            return self._error(400, "Invalid JSON payload: timeSeries is required")
        if not 1 <= len(series) <= 200:
            return self._error(400, "Request must contain between 1 and 200 time series")
        for item in series:
            metric, points = item.get("metric", {}), item.get("points", [])
            if not metric.get("type", "").startswith("custom.googleapis.com/"):
                return self._error(400, f"Metric type {metric.get('type')!r} is not a custom metric")
            if not re.fullmatch(r"[A-Za-z0-9_./-]+", metric["type"].split("custom.googleapis.com/", 1)[1]):
                return self._error(400, f"Invalid metric type {metric['type']!r}")
            if item.get("resource", {}).get("labels", {}).get("project_id") not in (None, project):
                return self._error(400, "The resource's project_id does not match the request's project")
            if len(points) != 1 or not points[0].get("interval", {}).get("endTime"):
                return self._error(400, "Each time series must have exactly one point with an end time")
            if not any(key in points[0].get("value", {}) for key in ("int64Value", "doubleValue", "boolValue")):
                return self._error(400, "The point has no value")
        self.fake.time_series.extend(series)
        self._send(200, {})


_SEG = r"([^/]+)"
ROUTES = [
    (re.compile(rf"/compute/v1/projects/{_SEG}"), "compute_project", "GET"),
    (re.compile(rf"/compute/v1/projects/{_SEG}/regions"), "compute_regions", "GET"),
    (re.compile(rf"/compute/v1/projects/{_SEG}/aggregated/(instances|disks|subnetworks)"), "compute_aggregated", "GET"),
    (re.compile(rf"/compute/v1/projects/{_SEG}/global/(firewalls|networks|snapshots|images)"), "compute_global", "GET"),
    (
        re.compile(rf"/compute/v1/projects/{_SEG}/global/(images|snapshots)/{_SEG}/getIamPolicy"),
        "compute_policy",
        "GET",
    ),
    (re.compile(r"/storage/v1/b"), "storage_buckets", "GET"),
    (re.compile(rf"/storage/v1/b/{_SEG}/iam"), "storage_bucket_policy", "GET"),
    (re.compile(rf"/iam/v1/projects/{_SEG}/serviceAccounts"), "iam_service_accounts", "GET"),
    (re.compile(rf"/iam/v1/projects/{_SEG}/serviceAccounts/{_SEG}/keys"), "iam_keys", "GET"),
    (re.compile(rf"/sqladmin/v1/projects/{_SEG}/instances"), "sql_instances", "GET"),
    (re.compile(rf"/container/v1/projects/{_SEG}/locations/{_SEG}/clusters"), "gke_clusters", "GET"),
    (re.compile(rf"/logging/v2/projects/{_SEG}/(sinks|metrics)"), "logging_list", "GET"),
    (re.compile(rf"/cloudkms/v1/projects/{_SEG}/locations"), "kms_locations", "GET"),
    (re.compile(rf"/cloudkms/v1/projects/{_SEG}/locations/{_SEG}/keyRings"), "kms_key_rings", "GET"),
    (re.compile(r"/cloudkms/v1/(projects/[^/]+/locations/[^/]+/keyRings/[^/]+)/cryptoKeys"), "kms_crypto_keys", "GET"),
    (
        re.compile(r"/cloudkms/v1/(projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+):getIamPolicy"),
        "kms_key_policy",
        "GET",
    ),
    (re.compile(rf"/cloudresourcemanager/v3/projects/{_SEG}"), "crm_project", "GET"),
    (re.compile(r"/cloudresourcemanager/v3/projects/([^/]+):getIamPolicy"), "crm_project_policy", "POST"),
    (re.compile(r"/cloudresourcemanager/v3/projects"), "crm_projects", "GET"),
    (re.compile(r"/cloudresourcemanager/v3/projects:search"), "crm_search", "GET"),
    (re.compile(r"/cloudresourcemanager/v3/folders"), "crm_folders", "GET"),
    (re.compile(rf"/monitoring/v3/projects/{_SEG}/timeSeries"), "monitoring_create_time_series", "POST"),
]

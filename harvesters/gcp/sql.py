"""Cloud SQL instances: public IP, authorized networks, SSL enforcement, backups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.base import ResourceRecord, resource_type
from harvesters.gcp.common import utc_iso

if TYPE_CHECKING:
    from harvesters.gcp.session import GcpContext  # imports the SDK: type hints only

_ENGINES = {"POSTGRES": "postgres", "MYSQL": "mysql", "SQLSERVER": "sqlserver"}
_SSL_ENFORCED = {"ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"}


def engine_of(database_version: str) -> tuple[str, str | None]:
    """``POSTGRES_14`` -> (postgres, 14); ``MYSQL_8_0_31`` -> (mysql, 8.0.31)."""
    family, _, version = database_version.partition("_")
    return _ENGINES.get(family, family.lower()), version.replace("_", ".") or None


def _by_region(ctx: GcpContext) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    method = ctx.api("sqladmin").instances().list
    for instance in ctx.items(method, "items", project=ctx.project_id, maxResults=500):
        grouped.setdefault(instance.get("region") or "", []).append(instance)
    return grouped


@resource_type(
    "gcp.sql.instance",
    resource_type="database_instance",
    service="sqladmin",
    permissions=("cloudsql.instances.list",),
)
def collect_sql_instances(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """Cloud SQL instances: public IP, 0.0.0.0/0 authorized networks, SSL required, backups and PITR."""
    for instance in ctx.regional("sqladmin.instances", lambda: _by_region(ctx), region):
        settings = instance.get("settings") or {}
        ip = settings.get("ipConfiguration") or {}
        backup = settings.get("backupConfiguration") or {}
        retention = backup.get("backupRetentionSettings") or {}
        engine, version = engine_of(instance.get("databaseVersion", ""))
        public_ips = [a["ipAddress"] for a in instance.get("ipAddresses") or [] if a.get("type") == "PRIMARY"]
        backups_enabled = bool(backup.get("enabled"))
        properties = {
            "engine": engine,
            "engine_version": version,
            "public": bool(ip.get("ipv4Enabled")) or bool(public_ips),
            "encrypted": True,  # always; kms_key_id names a customer-managed key
            # Cloud SQL keeps N daily backups: N is the retention in days; 0 when backups are off.
            "backup_retention_days": (retention.get("retainedBackups", 7) if backups_enabled else 0),
            "multi_az": settings.get("availabilityType") == "REGIONAL",
            "ssl_required": bool(ip.get("requireSsl")) or ip.get("sslMode") in _SSL_ENFORCED,
            "authorized_networks": [n["value"] for n in ip.get("authorizedNetworks") or [] if n.get("value")],
            # GCP-specific
            "public_ips": public_ips,
            "private_network": ip.get("privateNetwork"),
            "ssl_mode": ip.get("sslMode"),
            "backups_enabled": backups_enabled,
            "point_in_time_recovery": bool(backup.get("pointInTimeRecoveryEnabled") or backup.get("binaryLogEnabled")),
            "kms_key_id": (instance.get("diskEncryptionConfiguration") or {}).get("kmsKeyName"),
            "database_flags": {f["name"]: f.get("value") for f in settings.get("databaseFlags") or [] if "name" in f},
            "tier": settings.get("tier"),
            "state": instance.get("state"),
            "created_at": utc_iso(instance.get("createTime")),
        }
        yield ResourceRecord(
            resource_type="database_instance",
            native_type="gcp.sql.instance",
            region=region,
            native_id=f"projects/{instance.get('project', ctx.project_id)}/instances/{instance['name']}",
            name=instance["name"],
            properties=properties,
            raw=instance,
            tags=dict(settings.get("userLabels") or {}),
        )

"""RDS instances: public endpoints, IP whitelists, TDE, SSL and backups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harvesters.alibaba.common import classified, iso, listed, truthy
from harvesters.alibaba.driver import AlibabaContext, optional, pages_by_number, rpc
from harvesters.base import ResourceRecord, resource_type

# Entries RDS puts in every whitelist that allow no one from outside.
_LOCAL_ONLY = {"127.0.0.1", "127.0.0.1/32"}
_MULTI_ZONE_CATEGORIES = {"highavailability", "alwayson", "finance", "cluster"}


def whitelist(ctx: AlibabaContext, region: str, db_id: str) -> list[str]:
    """Every CIDR/IP of every whitelist group of the instance."""
    body = ctx.call(rpc("rds", "DescribeDBInstanceIPArrayList")(), region, DBInstanceId=db_id)
    entries: list[str] = []
    for group in listed(body.get("Items"), "DBInstanceIPArray"):
        for entry in str(group.get("SecurityIPList") or "").split(","):
            entry = entry.strip()
            if entry and entry not in _LOCAL_ONLY and entry not in entries:
                entries.append(entry)
    return entries


@resource_type(
    "alibaba.rds.instance",
    resource_type="database_instance",
    service="rds",
    permissions=(
        "rds:DescribeDBInstances",
        "rds:DescribeDBInstanceNetInfo",
        "rds:DescribeDBInstanceIPArrayList",
        "rds:DescribeDBInstanceTDE",
        "rds:DescribeDBInstanceSSL",
        "rds:DescribeBackupPolicy",
    ),
)
@classified
def collect_db_instances(ctx: AlibabaContext, region: str) -> Iterator[ResourceRecord]:
    """RDS instances with public endpoints, whitelist (0.0.0.0/0), TDE, SSL and backup retention."""
    for page in pages_by_number(ctx, rpc("rds", "DescribeDBInstances"), region, ("Items", "DBInstance"), page_size=100):

        def build(db: Any) -> ResourceRecord:
            db_id = db["DBInstanceId"]
            net = listed(
                ctx.call(rpc("rds", "DescribeDBInstanceNetInfo")(), region, DBInstanceId=db_id).get(
                    "DBInstanceNetInfos"
                ),
                "DBInstanceNetInfo",
            )
            public_endpoints = [
                n.get("ConnectionString") for n in net if str(n.get("IPType", "")).lower() in ("public", "internet")
            ]
            networks = whitelist(ctx, region, db_id)
            tde = optional(
                lambda db_id=db_id: ctx.call(rpc("rds", "DescribeDBInstanceTDE")(), region, DBInstanceId=db_id), {}
            )
            ssl = optional(
                lambda db_id=db_id: ctx.call(rpc("rds", "DescribeDBInstanceSSL")(), region, DBInstanceId=db_id), {}
            )
            backup = optional(
                lambda db_id=db_id: ctx.call(rpc("rds", "DescribeBackupPolicy")(), region, DBInstanceId=db_id), {}
            )
            ssl_enabled = truthy(ssl.get("SSLEnabled"))
            retention = backup.get("BackupRetentionPeriod")
            properties = {
                "engine": str(db.get("Engine", "")).lower(),
                "engine_version": db.get("EngineVersion") or None,
                "public": bool(public_endpoints),
                "encrypted": truthy(tde.get("TDEStatus")),
                "backup_retention_days": int(retention) if retention not in (None, "") else None,
                "multi_az": str(db.get("Category", "")).lower() in _MULTI_ZONE_CATEGORIES,
                "ssl_required": ssl_enabled,
                "authorized_networks": networks,
                # Alibaba-specific
                "public_endpoints": public_endpoints,
                "open_to_world": "0.0.0.0/0" in networks or "0.0.0.0" in networks,
                "tde_enabled": truthy(tde.get("TDEStatus")),
                "ssl_enabled": ssl_enabled,
                "network_id": db.get("VpcId") or None,
                "status": db.get("DBInstanceStatus"),
                "created_at": iso(db.get("CreateTime")),
            }
            return ResourceRecord(
                resource_type="database_instance",
                native_type="alibaba.rds.instance",
                region=region,
                native_id=db_id,
                name=db.get("DBInstanceDescription") or db_id,
                properties=properties,
                raw={**db, "NetInfo": net, "TDE": tde, "SSL": ssl, "BackupPolicy": backup},
            )

        yield from ctx.map(build, page)

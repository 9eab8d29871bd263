"""Azure SQL servers with their databases: auditing, TDE, firewall (0.0.0.0–255.255.255.255), Entra admin."""

from __future__ import annotations

from collections.abc import Iterator

from harvesters.azure.common import enabled_flag, harvest_errors, in_region, props, range_to_cidrs, record
from harvesters.azure.session import AzureContext, get_or_none, items, pages, parse_id
from harvesters.base import ResourceRecord, resource_type


def _databases(ctx: AzureContext, group: str, server: str) -> list[dict]:
    sql = ctx.client("sql")
    out = []
    for db in items(sql.databases.list_by_server(group, server)):
        name = db.get("name")
        if name == "master":  # the system database: no TDE switch, no backups of its own
            continue
        tde = get_or_none(sql.transparent_data_encryptions.get, group, server, name, "current") or {}
        retention = get_or_none(sql.backup_short_term_retention_policies.get, group, server, name, "default") or {}
        out.append(
            {
                "name": name,
                "tde_enabled": enabled_flag(props(tde).get("state")),
                "backup_retention_days": props(retention).get("retentionDays"),
                "zone_redundant": bool(props(db).get("zoneRedundant")),
                "sku": (db.get("sku") or {}).get("name"),
            }
        )
    return out


@resource_type(
    "azure.sql.server",
    resource_type="database_instance",
    service="sql",
    permissions=(
        "Microsoft.Sql/servers/read",
        "Microsoft.Sql/servers/databases/read",
        "Microsoft.Sql/servers/firewallRules/read",
        "Microsoft.Sql/servers/auditingSettings/read",
        "Microsoft.Sql/servers/administrators/read",
        "Microsoft.Sql/servers/databases/transparentDataEncryption/read",
    ),
)
@harvest_errors
def collect_sql_servers(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """SQL servers: public network access and firewall ranges, auditing, Entra admin, and per database TDE and
    backup retention (the server is the database_instance; its databases are listed in its properties)."""
    sql = ctx.client("sql")
    for page in pages(sql.servers.list()):
        for body in in_region(page, region):
            p = props(body)
            group = parse_id(body["id"])["resource_group"]
            name = body["name"]
            rules = [
                {"name": r.get("name"), "start": props(r).get("startIpAddress"), "end": props(r).get("endIpAddress")}
                for r in items(sql.firewall_rules.list_by_server(group, name))
            ]
            # 0.0.0.0–0.0.0.0 is Azure's "allow Azure services" switch, not a network.
            azure_services = any(r["start"] == r["end"] == "0.0.0.0" for r in rules)
            networks = sorted(
                {
                    cidr
                    for r in rules
                    if not r["start"] == r["end"] == "0.0.0.0"
                    for cidr in range_to_cidrs(r["start"], r["end"])
                }
            )
            public_access = enabled_flag(p.get("publicNetworkAccess") or "Enabled")
            audit = props(get_or_none(sql.server_blob_auditing_policies.get, group, name) or {})
            admins = [props(a) for a in items(sql.server_azure_ad_administrators.list_by_server(group, name))]
            databases = _databases(ctx, group, name)
            retention = [d["backup_retention_days"] for d in databases if d["backup_retention_days"] is not None]
            yield record(
                "database_instance",
                "azure.sql.server",
                region,
                body,
                {
                    "engine": "sqlserver",
                    "engine_version": p.get("version"),
                    "public": public_access and bool(networks or azure_services),
                    "encrypted": all(d["tde_enabled"] for d in databases),
                    "backup_retention_days": min(retention) if retention else None,
                    "multi_az": all(d["zone_redundant"] for d in databases) if databases else None,
                    "ssl_required": True,  # Azure SQL refuses unencrypted connections
                    "authorized_networks": networks,
                    "public_network_access": public_access,
                    "allows_all_ips": "0.0.0.0/0" in networks,
                    "allow_azure_services": azure_services,
                    "firewall_rules": rules,
                    "min_tls_version": p.get("minimalTlsVersion"),
                    "auditing_enabled": enabled_flag(audit.get("state")),
                    "auditing_retention_days": audit.get("retentionDays"),
                    "ad_admin_configured": bool(admins),
                    "ad_admins": [a.get("login") for a in admins],
                    "databases": databases,
                    "fqdn": p.get("fullyQualifiedDomainName"),
                },
            )

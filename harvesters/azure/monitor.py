"""Activity-log diagnostic settings: is the subscription's activity log exported, and which categories."""

from __future__ import annotations

from collections.abc import Iterator

from harvesters.azure.common import harvest_errors, props, record
from harvesters.azure.session import AzureContext, wire
from harvesters.base import GLOBAL, ResourceRecord, resource_type

#: The activity-log categories CIS asks to export.
REQUIRED_CATEGORIES = ("Administrative", "Security", "Policy", "Alert")


@resource_type(
    "azure.monitor.activity_log",
    resource_type="api_accounting_config",
    service="monitor",
    scope="global",
    permissions=("Microsoft.Insights/diagnosticSettings/read",),
)
@harvest_errors
def collect_activity_log(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """The subscription's activity log as one audit trail: its diagnostic settings, destinations and the
    categories they export (a subscription with no setting is a trail that logs nowhere)."""
    result = ctx.client("monitor").subscription_diagnostic_settings.list()
    settings = (
        [wire(s) for s in (getattr(result, "value", None) or [])]
        if hasattr(result, "value")
        else [wire(s) for s in result]
    )
    exported: set[str] = set()
    destinations = []
    for setting in settings:
        p = props(setting)
        categories = sorted(
            log.get("category") or log.get("categoryGroup") for log in p.get("logs") or [] if log.get("enabled")
        )
        exported.update(c for c in categories if c)
        destinations.append(
            {
                "name": setting.get("name"),
                "workspace_id": p.get("workspaceId"),
                "storage_account_id": p.get("storageAccountId"),
                "event_hub": p.get("eventHubAuthorizationRuleId"),
                "categories": categories,
            }
        )
    everything = "allLogs" in exported
    missing = [c for c in REQUIRED_CATEGORIES if not everything and c not in exported]
    body = {
        "id": f"{ctx.subscription_scope}/providers/microsoft.insights/diagnosticSettings",
        "name": "activity-log",
        "properties": {"settings": settings},
    }
    yield record(
        "api_accounting_config",
        "azure.monitor.activity_log",
        GLOBAL,
        body,
        {
            "multi_region": True,  # the activity log is subscription-wide
            "logging": bool(exported),
            "log_file_validation": None,
            "kms_key_id": None,
            "destinations": destinations,
            "categories_exported": sorted(exported),
            "categories_missing": missing,
            "setting_count": len(settings),
        },
    )

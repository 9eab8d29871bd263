"""Cloud Logging sinks and log-based metrics.

Normalization (a choice, documented here and in the report):

- a **sink** is an ``api_accounting_config``: it is what exports the project's audit logs
  somewhere durable, as a CloudTrail trail does; CIS GCP 2.2 ("a sink exports all log entries")
  reads like "a multi-region trail is logging". ``multi_region`` is always true (a project sink
  sees every region), ``logging`` is "not disabled", ``exports_all_logs`` is "no filter".
- a **log-based metric** is a ``log_group``: on AWS, metric filters live on the CloudTrail log
  group and CIS's monitoring controls (GCP 2.4-2.11, AWS 4.x) look for a metric whose filter
  matches a pattern; here the metric carries that ``filter``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.base import ResourceRecord, resource_type
from harvesters.gcp.common import utc_iso

if TYPE_CHECKING:
    from harvesters.gcp.session import GcpContext  # imports the SDK: type hints only


def destination_type(destination: str) -> str:
    """``storage.googleapis.com/bucket`` -> ``storage`` (bigquery, pubsub, logging …)."""
    return destination.split(".googleapis.com", 1)[0] if ".googleapis.com" in destination else "other"


@resource_type(
    "gcp.logging.sink",
    resource_type="api_accounting_config",
    service="logging",
    scope="global",
    permissions=("logging.sinks.list",),
)
def collect_sinks(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """Log sinks of the project: destination, filter (empty = every log entry), disabled."""
    sinks = ctx.api("logging").projects().sinks()
    for sink in ctx.items(sinks.list, "sinks", parent=f"projects/{ctx.project_id}", pageSize=200):
        destination = sink.get("destination", "")
        properties = {
            "multi_region": True,
            "logging": not sink.get("disabled"),
            "log_file_validation": None,
            "kms_key_id": None,
            # GCP-specific
            "destination": destination,
            "destination_type": destination_type(destination),
            "filter": sink.get("filter") or "",
            "exports_all_logs": not (sink.get("filter") or "").strip(),
            "exclusions": [e.get("filter") for e in sink.get("exclusions") or [] if not e.get("disabled")],
            "writer_identity": sink.get("writerIdentity"),
            "include_children": bool(sink.get("includeChildren")),
            "created_at": utc_iso(sink.get("createTime")),
        }
        yield ResourceRecord(
            resource_type="api_accounting_config",
            native_type="gcp.logging.sink",
            region=region,
            native_id=f"projects/{ctx.project_id}/sinks/{sink['name']}",
            name=sink["name"],
            properties=properties,
            raw=sink,
        )


@resource_type(
    "gcp.logging.metric",
    resource_type="log_group",
    service="logging",
    scope="global",
    permissions=("logging.logMetrics.list",),
)
def collect_metrics(ctx: GcpContext, region: str) -> Iterator[ResourceRecord]:
    """Log-based metrics: the filters CIS monitoring controls look for (ownership, audit config changes …)."""
    metrics = ctx.api("logging").projects().metrics()
    for metric in ctx.items(metrics.list, "metrics", parent=f"projects/{ctx.project_id}", pageSize=200):
        descriptor = metric.get("metricDescriptor") or {}
        properties = {
            "retention_days": None,
            "kms_key_id": None,
            # GCP-specific
            "filter": metric.get("filter") or "",
            "disabled": bool(metric.get("disabled")),
            "description": metric.get("description"),
            "metric_kind": descriptor.get("metricKind"),
            "value_type": descriptor.get("valueType"),
            "created_at": utc_iso(metric.get("createTime")),
        }
        yield ResourceRecord(
            resource_type="log_group",
            native_type="gcp.logging.metric",
            region=region,
            native_id=f"projects/{ctx.project_id}/metrics/{metric['name']}",
            name=metric["name"],
            properties=properties,
            raw=metric,
        )

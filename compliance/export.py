"""Findings as plain records, CSV and OCSF Compliance Finding (class 2003) events."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from compliance.models import Finding, FindingStatus
from compliance.schema import Insight, Pack

FIELDS = (
    "insight_id",
    "insight_name",
    "severity",
    "provider",
    "cloud_name",
    "account_id",
    "region",
    "resource_type",
    "native_type",
    "resource_id",
    "resource_name",
    "status",
    "exempted",
    "first_seen",
    "last_seen",
    "resolved_at",
    "controls",
)
OCSF_VERSION = "1.3.0"
_SEVERITY_IDS = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
_PROVIDER_NAMES = {"aws": "AWS", "azure": "Azure", "gcp": "GCP", "alibaba": "Alibaba Cloud"}
_ACCOUNT_TYPES = {"aws": (10, "AWS Account"), "gcp": (11, "GCP Project"), "azure": (13, "Azure Subscription")}


def select_findings(
    queryset: QuerySet[Finding],
    *,
    insights: dict[str, Insight],
    pack: Pack | None = None,
    insight_id: str | None = None,
    severities: Iterable[str] = (),
    include_exempted: bool = False,
    include_resolved: bool = False,
    now: datetime | None = None,
) -> QuerySet[Finding]:
    now = now or timezone.now()
    if not include_resolved:
        queryset = queryset.filter(status=FindingStatus.OPEN)
    if not include_exempted:
        queryset = queryset.not_exempted(now)
    if pack is not None:
        queryset = queryset.filter(insight_id__in=sorted(pack.insight_ids()))
    if insight_id:
        queryset = queryset.filter(insight_id=insight_id)
    severities = list(severities)
    if severities:
        queryset = queryset.filter(severity__in=severities)
    return queryset.select_related("resource", "cloud", "exemption").order_by("pk")


def evaluation_times() -> dict[int, datetime | None]:
    """When each cloud was last evaluated (open findings count as seen then)."""
    from compliance.models import EvaluationState

    return dict(EvaluationState.objects.values_list("cloud_id", "last_evaluated_at"))


def records(findings: Iterable[Finding], insights: dict[str, Insight], now: datetime | None = None) -> Iterator[dict]:
    now = now or timezone.now()
    evaluated_at = evaluation_times()
    for finding in findings:
        yield record(finding, insights, evaluated_at, now)


def record(finding: Finding, insights: dict[str, Insight], evaluated_at: dict, now: datetime) -> dict:
    """One finding as a flat record (``FIELDS``), plus ``_finding`` and ``_insight`` for OCSF."""
    insight = insights.get(finding.insight_id)
    resource, cloud = finding.resource, finding.cloud
    return {
        "insight_id": finding.insight_id,
        "insight_name": insight.name if insight else finding.insight_id,
        "severity": finding.severity,
        "provider": cloud.provider,
        "cloud_name": cloud.name,
        "account_id": cloud.account_id,
        "region": resource.region,
        "resource_type": resource.resource_type,
        "native_type": resource.native_type,
        "resource_id": resource.native_id,
        "resource_name": resource.name,
        "status": "fail" if finding.status == FindingStatus.OPEN else "resolved",
        "exempted": finding.is_exempted(now),
        "first_seen": finding.first_seen.isoformat(),
        "last_seen": finding.effective_last_seen(evaluated_at.get(finding.cloud_id)).isoformat(),
        "resolved_at": finding.resolved_at.isoformat() if finding.resolved_at else None,
        "controls": list(insight.controls) if insight else [],
        # Not part of the flat formats, used by OCSF.
        "_finding": finding,
        "_insight": insight,
    }


def public(record: dict) -> dict:
    return {key: record[key] for key in FIELDS}


def csv_row(row: dict) -> dict:
    """A record as a CSV row: controls joined with ";"."""
    return {**public(row), "controls": ";".join(row["controls"])}


def to_csv(rows: Iterable[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(csv_row(row))
    return out.getvalue()


def _ms(value: str | None) -> int | None:
    if not value:
        return None
    return int(datetime.fromisoformat(value).timestamp() * 1000)


def to_ocsf(record: dict) -> dict:
    """One OCSF 1.x Compliance Finding (class_uid 2003) event for one finding."""
    finding: Finding = record["_finding"]
    insight: Insight | None = record["_insight"]
    resolved = record["status"] == "resolved"
    activity_id, activity = (3, "Close") if resolved else ((2, "Update") if finding.reopened_count else (1, "Create"))
    if resolved:
        status_id, status = 4, "Resolved"
    elif record["exempted"]:
        status_id, status = 3, "Suppressed"
    else:
        status_id, status = 1, "New"
    account_type_id, account_type = _ACCOUNT_TYPES.get(record["provider"], (99, "Other"))
    standards = sorted({control.split(":", 1)[0] for control in record["controls"]})
    event = {
        "class_uid": 2003,
        "class_name": "Compliance Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": activity,
        "type_uid": 2003 * 100 + activity_id,
        "type_name": f"Compliance Finding: {activity}",
        "severity_id": _SEVERITY_IDS.get(record["severity"], 0),
        "severity": record["severity"].capitalize() if record["severity"] != "info" else "Informational",
        "status_id": status_id,
        "status": status,
        "time": _ms(record["last_seen"]),
        "message": record["insight_name"],
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "InsightCloud", "vendor_name": "InsightCloud", "version": "0.1.0"},
            "uid": f"insightcloud-finding-{finding.pk}",
        },
        "finding_info": {
            "uid": f"insightcloud-finding-{finding.pk}",
            "title": record["insight_name"],
            "desc": insight.description if insight else "",
            "types": [record["insight_id"]],
            "created_time": _ms(record["first_seen"]),
            "first_seen_time": _ms(record["first_seen"]),
            "last_seen_time": _ms(record["last_seen"]),
            "modified_time": _ms(record["resolved_at"] or record["last_seen"]),
        },
        "compliance": {
            "control": record["insight_id"],
            "requirements": record["controls"],
            "standards": standards,
            "status_id": 1 if resolved else 3,
            "status": "Pass" if resolved else "Fail",
        },
        "resources": [
            {
                "uid": record["resource_id"],
                "name": record["resource_name"],
                "type": record["native_type"],
                "region": record["region"],
                "labels": [f"{key}={value}" for key, value in sorted((finding.resource.tags or {}).items())],
                "data": {"normalized_type": record["resource_type"]},
            }
        ],
        "cloud": {
            "provider": _PROVIDER_NAMES.get(record["provider"], record["provider"]),
            "region": record["region"],
            "account": {
                "uid": record["account_id"],
                "name": record["cloud_name"],
                "type_id": account_type_id,
                "type": account_type,
            },
        },
        "unmapped": {"exempted": record["exempted"]},
    }
    if insight:
        event["remediation"] = {"desc": insight.remediation, "references": list(insight.references)}
    return event

"""The dashboard's figures. Each is counted over what the user may see (accounts/permissions.py) and
comes as a chart: labels, one or more series of values, and per point the link to the list behind it.

Charts are plain dicts, rendered with ``json_script`` and drawn by static/js/dashboard.js.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from insightcloud.accounts.models import AccessLevel, User
from insightcloud.accounts.permissions import (
    clouds_visible_to,
    findings_visible_to,
    pack_results_visible_to,
    resources_visible_to,
)
from insightcloud.inventory.models import CloudAccount, CloudStatus, Resource

#: Statuses that mean the cloud cannot be harvested as configured (paused and closed are choices, not errors).
ERROR_STATUSES = (CloudStatus.INVALID_CREDENTIALS, CloudStatus.ASSUME_ROLE_FAILED)
#: A cloud whose jobs failed this recently also counts as having errors.
RECENT_FAILURES = timedelta(hours=24)
TREND_DAYS = 30
TOP = 15
#: Per-cloud resource counts are keyed by the cloud's inventory version, and kept this long at most.
COUNTS_CACHE_SECONDS = 300


def link(name: str, *args: object, **query: object) -> str:
    url = reverse(name, args=args)
    return f"{url}?{urlencode(query)}" if query else url


def chart(kind: str, labels: list[str], values: list, links: list[str | None], **options: object) -> dict:
    return {"type": kind, "labels": labels, "series": [{"name": "", "values": values}], "links": links, **options}


def clouds_with_errors(clouds: QuerySet[CloudAccount], now=None) -> QuerySet[CloudAccount]:  # noqa: ANN001
    """Clouds in an error status, or with a job that failed in the last 24 hours."""
    from scheduler.models import Job

    since = (now or timezone.now()) - RECENT_FAILURES
    failed = Job.objects.filter(status="failed", finished_at__gte=since, cloud_id__isnull=False).values("cloud_id")
    return clouds.filter(Q(status__in=ERROR_STATUSES) | Q(pk__in=failed))


def resource_counts(resources: QuerySet) -> tuple[Counter, Counter, Counter]:
    """Live resources per cloud, per type and per region, in two index-only scans (res_cloud_live_type and
    res_live_type_region) rather than one scan per chart plus a COUNT(*)."""
    by_cloud = Counter(dict(resources.values_list("cloud_id").annotate(n=Count("id")).order_by()))
    by_type, by_region = Counter(), Counter()
    for resource_type, region, n in resources.values_list("resource_type", "region").annotate(n=Count("id")).order_by():
        by_type[resource_type] += n
        by_region[region] += n
    return by_cloud, by_type, by_region


def resource_counts_of_clouds(clouds: QuerySet[CloudAccount]) -> tuple[Counter, Counter, Counter]:
    """The same figures for users who see whole clouds, from per-cloud counts kept in the cache.

    Counting a million rows takes about a second even on an index (res_cloud_live_type_region), so
    each cloud's counts are kept under its inventory version: the newest ``Resource.updated_at`` of
    the cloud (which creations, changes and deletions move; one loose index scan, res_cloud_updated)
    and the end of its last harvest. Rows written by a harvest still running may share a timestamp,
    so its counts are refreshed at the latest when it ends, or after COUNTS_CACHE_SECONDS.
    """
    newest = dict(
        Resource.objects.filter(cloud__in=clouds).values_list("cloud_id").annotate(v=Max("updated_at")).order_by()
    )
    harvested = dict(clouds.filter(pk__in=list(newest)).values_list("pk", "last_harvest_at"))
    keys = {
        cloud_id: f"dashboard:resources:{cloud_id}:{changed.timestamp()}:{_stamp(harvested.get(cloud_id))}"
        for cloud_id, changed in newest.items()
    }
    cached = cache.get_many(list(keys.values()))
    by_cloud, by_type, by_region = Counter(), Counter(), Counter()
    for cloud_id, key in keys.items():
        rows = cached.get(key)
        if rows is None:
            live = Resource.objects.filter(cloud_id=cloud_id, deleted_at__isnull=True)
            rows = list(live.values_list("resource_type", "region").annotate(n=Count("id")).order_by())
            cache.set(key, rows, COUNTS_CACHE_SECONDS)
        for resource_type, region, n in rows:
            by_cloud[cloud_id] += n
            by_type[resource_type] += n
            by_region[region] += n
    return by_cloud, by_type, by_region


def _stamp(moment) -> float:  # noqa: ANN001
    return moment.timestamp() if moment else 0.0


def resources_by(counts: Counter, param: str, names: dict | None = None) -> dict:
    """The largest counts of one column; each bar opens the inventory filtered on it."""
    rows = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))[:TOP]
    labels = [str(names.get(value, value)) if names else (value or "(none)") for value, _ in rows]
    # An empty value would be an absent filter (the whole inventory), so such a bar opens nothing.
    links = [link("inventory", **{param: value}) if value not in ("", None) else None for value, _ in rows]
    return chart("bar", labels, [n for _, n in rows], links)


def pack_scores(user: User, packs: dict) -> dict:
    """Each pack's score over the visible clouds: their passed / failed / exempted checks added up."""
    from compliance.evaluate import score_of
    from compliance.models import Scorecard

    rows = (
        pack_results_visible_to(user, Scorecard, packs)
        .values("pack_id")
        .annotate(passed=Sum("passed"), failed=Sum("failed"), exempted=Sum("exempted"))
        .order_by("pack_id")
    )
    scores = sorted(
        (
            (packs[row["pack_id"]].name, score_of(row["passed"], row["failed"], row["exempted"]), row["pack_id"])
            for row in rows
        ),
    )
    return chart(
        "bar",
        [name for name, _, _ in scores],
        [score for _, score, _ in scores],
        [link("pack-detail", pack_id) for _, _, pack_id in scores],
        max=100,
        unit="%",
        horizontal=True,
    )


def score_trend(user: User, packs: dict, today: date) -> dict:
    """Daily score per pack over the last 30 days; a line per pack, a click opens the pack."""
    from compliance.evaluate import score_of
    from compliance.models import DailyScore

    rows = (
        pack_results_visible_to(user, DailyScore, packs)
        .filter(date__gt=today - timedelta(days=TREND_DAYS))
        .values("pack_id", "date")
        .annotate(passed=Sum("passed"), failed=Sum("failed"), exempted=Sum("exempted"))
    )
    scores: dict[str, dict[date, float]] = {}
    for row in rows:
        scores.setdefault(row["pack_id"], {})[row["date"]] = score_of(row["passed"], row["failed"], row["exempted"])
    days = sorted({day for by_day in scores.values() for day in by_day})
    series = [
        {
            "name": packs[pack_id].name,
            "values": [by_day.get(day) for day in days],
            "link": link("pack-detail", pack_id),
        }
        for pack_id, by_day in sorted(scores.items(), key=lambda item: packs[item[0]].name)
    ]
    return {"type": "line", "labels": [day.isoformat() for day in days], "series": series, "links": None, "max": 100}


def findings_by_severity(user: User) -> dict:
    from compliance.models import FindingStatus
    from compliance.schema import SEVERITIES

    counts = dict(
        findings_visible_to(user)
        .filter(status=FindingStatus.OPEN)
        .values_list("severity")
        .annotate(n=Count("id"))
        .values_list("severity", "n")
    )
    present = [severity for severity in reversed(SEVERITIES) if counts.get(severity)]
    return chart(
        "doughnut",
        present,
        [counts[severity] for severity in present],
        [link("insights", severity=severity) for severity in present],
        colors=[SEVERITY_COLORS[severity] for severity in present],
    )


SEVERITY_COLORS = {"critical": "#7f1d1d", "high": "#b3261e", "medium": "#d97706", "low": "#2f6fa3", "info": "#8a99a8"}


def top_failing_insights(user: User, insights: dict) -> dict:
    from compliance.models import FindingStatus

    rows = list(
        findings_visible_to(user)
        .filter(status=FindingStatus.OPEN)
        .values_list("insight_id")
        .annotate(n=Count("id"))
        .order_by("-n", "insight_id")[:10]
    )
    labels = [insights[key].name if key in insights else key for key, _ in rows]
    links = [link("insight-detail", key) if key in insights else None for key, _ in rows]
    return chart("bar", labels, [n for _, n in rows], links, horizontal=True)


def clouds_by_status(clouds: QuerySet[CloudAccount]) -> dict:
    counts = dict(clouds.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    statuses = [status for status in CloudStatus if counts.get(status)]
    return chart(
        "doughnut",
        [status.label for status in statuses],
        [counts[status] for status in statuses],
        [link("clouds", status=status.value) for status in statuses],
        colors=[STATUS_COLORS.get(status, "#8a99a8") for status in statuses],
    )


STATUS_COLORS = {
    CloudStatus.OK: "#1e7b34",
    CloudStatus.PENDING: "#2f6fa3",
    CloudStatus.PAUSED: "#d97706",
    **{status: "#b3261e" for status in ERROR_STATUSES},
}


def figures(user: User) -> dict:
    """Everything the dashboard shows, for this user."""
    from compliance.library import insights_for, packs_for

    clouds = clouds_visible_to(user)
    if user.access_level == AccessLevel.BASIC:  # may see single resources through resource groups: count them live
        by_cloud, by_type, by_region = resource_counts(resources_visible_to(user).filter(deleted_at__isnull=True))
    else:  # sees whole clouds
        by_cloud, by_type, by_region = resource_counts_of_clouds(clouds)
    cloud_names = dict(clouds.values_list("pk", "name"))
    packs = packs_for(user.organization_id)
    errors = clouds_with_errors(clouds).order_by("name")
    charts = [
        ("pack-scores", "Compliance score per pack", pack_scores(user, packs)),
        ("score-trend", "Compliance score trend (30 days)", score_trend(user, packs, timezone.localdate())),
        ("findings-by-severity", "Open findings by severity", findings_by_severity(user)),
        ("top-insights", "Insights failing most", top_failing_insights(user, insights_for(user.organization_id))),
        ("resources-by-cloud", "Resources by cloud", resources_by(by_cloud, "cloud", cloud_names)),
        ("resources-by-type", "Resources by type", resources_by(by_type, "resource_type")),
        ("resources-by-region", "Resources by region", resources_by(by_region, "region")),
        ("clouds-by-status", "Clouds by status", clouds_by_status(clouds)),
    ]
    return {
        "resource_total": sum(by_type.values()),
        "cloud_count": len(cloud_names),
        "clouds_with_errors": list(errors),
        "charts": [
            {"id": key, "script_id": f"{key}-data", "title": title, "data": data, "points": _points(data)}
            for key, title, data in charts
        ],
    }


def _points(data: dict) -> list[tuple[str, object, str | None]]:
    """(label, value, link) of each point, for the list shown beside the chart (and without JavaScript)."""
    if data["links"] is None:
        return [(series["name"], _last(series["values"]), series["link"]) for series in data["series"]]
    return list(zip(data["labels"], data["series"][0]["values"], data["links"], strict=True))


def _last(values: list) -> object:
    return next((value for value in reversed(values) if value is not None), None)

"""Compliance in the GUI: insights with their failing resources, pack scorecards as a heatmap of
controls × clouds, and exemptions. Reads what compliance/ computed; evaluates nothing inline."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from insightcloud.accounts import audit
from insightcloud.accounts.permissions import (
    can_edit_insights,
    can_manage_resource,
    clouds_visible_to,
    custom_insights_visible_to,
    exemptions_visible_to,
    findings_visible_to,
    pack_results_visible_to,
    resources_visible_to,
)


def _catalog(user):  # noqa: ANN001, ANN202
    from compliance.library import insights_for

    return insights_for(user.organization_id)


def _open_findings(user):  # noqa: ANN001, ANN202
    from compliance.models import FindingStatus

    return findings_visible_to(user).filter(status=FindingStatus.OPEN)


def insight_list(request):  # noqa: ANN001, ANN201
    catalog = _catalog(request.user)
    failing = dict(_open_findings(request.user).values_list("insight_id").annotate(n=Count("id")))
    rows = sorted(catalog.values(), key=lambda i: (-failing.get(i.id, 0), i.id))
    severity = request.GET.get("severity")
    if severity:
        rows = [i for i in rows if i.severity == severity]
    if request.GET.get("source") in ("custom", "builtin"):
        rows = [i for i in rows if (i.source == "custom") == (request.GET["source"] == "custom")]
    context = {
        "insights": [(i, failing.get(i.id, 0)) for i in rows],
        "severity": severity,
        "source": request.GET.get("source", ""),
        "can_edit": can_edit_insights(request.user),
        "disabled": custom_insights_visible_to(request.user).filter(enabled=False).order_by("insight_id"),
    }
    return render(request, "web/insights.html", context)


TREND_DAYS = 90


def failing_trend(user, insight_id: str) -> list[dict]:  # noqa: ANN001
    """Failing and exempted resources per day over the clouds the user sees (the evaluation's history)."""
    from compliance.models import DailyCount, HistoryScope

    since = timezone.localdate() - timedelta(days=TREND_DAYS)
    days = (
        DailyCount.objects.filter(
            scope=HistoryScope.INSIGHT, scope_id=insight_id, date__gte=since, cloud__in=clouds_visible_to(user)
        )
        .values("date")
        .annotate(failed=Sum("failed"), exempted=Sum("exempted"))
        .order_by("date")
    )
    return [{"date": day["date"].isoformat(), "failed": day["failed"], "exempted": day["exempted"]} for day in days]


def insight_detail(request, insight_id: str):  # noqa: ANN001, ANN201
    insight = _catalog(request.user).get(insight_id)
    if insight is None:
        raise Http404("no such insight")
    findings = _open_findings(request.user).filter(insight_id=insight_id).select_related("resource", "cloud")
    if (cloud := _cloud_param(request)) is not None:
        findings = findings.filter(cloud_id=cloud)
    filters = {name: request.GET.get(name, "").strip() for name in ("cloud", "region", "q", "exempted")}
    if filters["region"]:
        findings = findings.filter(resource__region=filters["region"])
    if filters["q"]:
        findings = findings.filter(
            Q(resource__name__icontains=filters["q"]) | Q(resource__native_id__icontains=filters["q"])
        )
    if filters["exempted"] in ("yes", "no"):
        exempted = findings.exempted()
        findings = exempted if filters["exempted"] == "yes" else findings.exclude(pk__in=exempted.values("pk"))
    context = {
        "insight": insight,
        "definition": json.dumps(insight.definition(), indent=2, sort_keys=True, default=str),
        "findings": findings.order_by("-first_seen")[:500],
        "failing_count": findings.count(),
        "filters": filters,
        "clouds": clouds_visible_to(request.user).order_by("name"),
        "trend": failing_trend(request.user, insight_id),
        "can_edit": can_edit_insights(request.user),
    }
    return render(request, "web/insight_detail.html", context)


def compliance_overview(request):  # noqa: ANN001, ANN201
    from compliance.library import packs_for
    from compliance.models import Scorecard

    packs = packs_for(request.user.organization_id)
    clouds = list(clouds_visible_to(request.user).order_by("name"))
    cards = {(c.pack_id, c.cloud_id): c for c in pack_results_visible_to(request.user, Scorecard, packs)}
    rows = []
    for pack in sorted(packs.values(), key=lambda p: p.name):
        cells = [cards.get((pack.id, cloud.pk)) for cloud in clouds]
        if any(cells) or not clouds or pack.source == "custom":  # a new custom pack shows before its first scorecard
            rows.append({"pack": pack, "coverage": pack.coverage(), "cells": cells})
    context = {"rows": rows, "clouds": clouds, "can_edit": can_edit_insights(request.user)}
    return render(request, "web/compliance.html", context)


def _pack(user, pack_id: str):  # noqa: ANN001, ANN202
    from compliance.library import packs_for

    pack = packs_for(user.organization_id).get(pack_id)
    if pack is None:
        raise Http404("no such pack")
    return pack


def _scorecards(user, pack) -> list:  # noqa: ANN001
    from compliance.models import Scorecard

    visible = pack_results_visible_to(user, Scorecard, {pack.id: pack})
    return list(visible.select_related("cloud").order_by("cloud__name"))


def _cloud_param(request):  # noqa: ANN001, ANN202
    """The ``cloud`` query parameter as a cloud id; 404 for anything else (a bad link finds nothing)."""
    value = request.GET.get("cloud", "")
    if not value:
        return None
    if not value.isdigit():
        raise Http404("cloud must be a cloud id")
    return int(value)


def pack_detail(request, pack_id: str):  # noqa: ANN001, ANN201
    """The pack's heatmap of controls × cloud accounts; ``?export=csv``, ``?format=html`` or ``?format=pdf``."""
    from compliance.report import pack_report, to_pdf

    pack = _pack(request.user, pack_id)
    report = pack_report(pack, _scorecards(request.user, pack), timezone.localdate())
    fmt = request.GET.get("export") or request.GET.get("format") or ""
    if fmt in ("csv", "pdf"):
        audit.record("compliance.export", request=request, target=pack_id, format=fmt)
    if fmt == "csv":
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{pack_id}.csv"'
        writer = csv.writer(response)
        writer.writerow(["control", "title", "cloud", "status", "passed", "failed", "exempted"])
        for row in report.controls:
            for card, cell in row.cells:
                writer.writerow(
                    [
                        row.control.id,
                        row.control.title,
                        card.cloud.name,
                        cell.get("status", ""),
                        cell.get("passed", 0),
                        cell.get("failed", 0),
                        cell.get("exempted", 0),
                    ]
                )
        return response
    if fmt == "pdf":
        response = HttpResponse(to_pdf(report), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{pack_id}-{report.generated_on.isoformat()}.pdf"'
        return response
    template = "web/pack_report.html" if fmt == "html" else "web/pack_detail.html"
    can_edit = pack.source == "custom" and can_edit_insights(request.user)
    return render(request, template, {"report": report, "pack": pack, "can_edit": can_edit})


def control_detail(request, pack_id: str, control_id: str):  # noqa: ANN001, ANN201
    """One control: its insights and the resources failing them (on one cloud with ``?cloud=``)."""
    pack = _pack(request.user, pack_id)
    control = next((c for c in pack.controls if c.id == control_id), None)
    if control is None:
        raise Http404("no such control")
    catalog = _catalog(request.user)
    findings = _open_findings(request.user).filter(insight_id__in=control.insights)
    cloud = None
    if (cloud_id := _cloud_param(request)) is not None:
        cloud = get_object_or_404(clouds_visible_to(request.user), pk=cloud_id)
        findings = findings.filter(cloud=cloud)
    failing = dict(findings.values_list("insight_id").annotate(n=Count("id")).values_list("insight_id", "n"))
    insights = [(insight_id, catalog.get(insight_id), failing.get(insight_id, 0)) for insight_id in control.insights]
    context = {
        "pack": pack,
        "control": control,
        "cloud": cloud,
        "insights": insights,
        "findings": findings.select_related("resource", "cloud", "exemption").order_by("insight_id", "-first_seen")[
            :500
        ],
        # Counted like the scorecard: a resource fails the control unless all its findings are exempted.
        "failing_count": findings.not_exempted().values("resource_id").distinct().count(),
    }
    return render(request, "web/control_detail.html", context)


@require_POST
def exempt_finding(request, pk: int):  # noqa: ANN001, ANN201
    """Exempt one resource from one insight, with a reason and an optional expiry date."""
    from compliance import exemptions

    resource = get_object_or_404(resources_visible_to(request.user).select_related("cloud"), pk=pk)
    if not can_manage_resource(request.user, resource):
        raise PermissionDenied("you may view this resource but not exempt its findings")
    insight_id = request.POST.get("insight_id", "")
    try:
        expires_at = exemptions.expiry_from_day(request.POST.get("expires_on"))
        exemptions.exempt_resources(
            request.user,
            insight_id,
            [pk],
            reason=request.POST.get("reason", ""),
            expires_at=expires_at,
            request=request,
        )
    except exemptions.ExemptionInputError as exc:
        messages.error(request, f"Not exempted: {exc}")
    else:
        messages.success(request, f"Exempted from {insight_id}.")
    return redirect("resource-detail", pk=pk)


#: The failing-resources filters the insight page's "select all matching" passes on to a bulk exemption.
BULK_FILTERS = ("cloud", "region", "q", "resource_type", "severity")


@require_POST
def bulk_exempt(request, insight_id: str):  # noqa: ANN001, ANN201
    """Exempt the selected failing resources of an insight, or all those matching the page's filter."""
    from compliance import exemptions

    if insight_id not in _catalog(request.user):
        raise Http404("no such insight")
    filters = {name: request.POST.getlist(name) for name in BULK_FILTERS if any(request.POST.getlist(name))}
    options = {"reason": request.POST.get("reason", ""), "request": request}
    try:
        options["expires_at"] = exemptions.expiry_from_day(request.POST.get("expires_on"))
        if request.POST.get("select") == "all-matching":
            outcome = exemptions.exempt_matching(request.user, insight_id, filters, **options)
        else:
            ids = [value for value in request.POST.getlist("resource") if value.isdigit()]
            outcome = exemptions.exempt_resources(request.user, insight_id, ids, **options)
    except exemptions.ExemptionInputError as exc:
        messages.error(request, f"Nothing exempted: {exc}")
    else:
        skipped = f" ({len(outcome.already_exempted)} already were)" if outcome.already_exempted else ""
        messages.success(request, f"Exempted {len(outcome.created)} resource(s) from {insight_id}{skipped}.")
    back = reverse("insight-detail", args=[insight_id])
    return redirect(f"{back}?{urlencode(filters, doseq=True)}" if filters else back)


def exemption_list(request):  # noqa: ANN001, ANN201
    from compliance import exemptions as exempting

    exemptions = exemptions_visible_to(request.user).select_related("resource", "cloud")
    if request.method == "POST" and request.POST.get("revoke"):
        exemption = get_object_or_404(exemptions, pk=request.POST["revoke"])
        try:
            exempting.revoke(request.user, exemption, request)
        except exempting.ExemptionInputError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Exemption {exemption.pk} revoked.")
        return redirect("exemptions")
    from compliance.filtersets import ExemptionFilterSet

    # The API's filter (insight, cloud, resource, active): a bulk exemption can make thousands.
    filtered = ExemptionFilterSet(request.GET, queryset=exemptions, request=request)
    listed = filtered.qs if filtered.is_valid() else exemptions.none()
    context = {
        "exemptions": listed.order_by("-created_at")[:EXEMPTIONS_SHOWN],
        "total": listed.count(),
        "shown": EXEMPTIONS_SHOWN,
        "now": timezone.now(),
    }
    return render(request, "web/exemptions.html", context)


EXEMPTIONS_SHOWN = 500

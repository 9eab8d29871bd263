"""Creating and revoking exemptions: the one place the GUI (one finding, or in bulk from an insight's
failing resources) and the REST API go through, so all of them check the same right, refuse the
same bad input (nothing is created then) and leave the same audit trail.

The right to exempt a resource's findings is the right to manage the resource (permissions.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from compliance.models import Exemption, Finding, FindingStatus
from insightcloud.accounts import audit
from insightcloud.accounts.permissions import findings_visible_to, resources_managed_by, resources_visible_to
from insightcloud.inventory.models import CloudAccount

#: A bulk exemption at most covers this many resources (one request stays well under a minute).
MAX_RESOURCES = 5000
MAX_REASON = 2000
#: Filter keys a bulk exemption refuses: the insight is given on its own, and only failing findings are exempted.
_RESERVED_FILTER_KEYS = ("insight", "status")


class ExemptionInputError(ValueError):
    """Bad input, by field: ``{"reason": ["..."]}``. Nothing was created."""

    def __init__(self, fields: dict[str, list[str]]):
        self.fields = fields
        super().__init__("; ".join(f"{name}: {' '.join(problems)}" for name, problems in fields.items()))


@dataclass
class Outcome:
    created: list[Exemption] = field(default_factory=list)
    #: Resources skipped because an active exemption already covers their finding of the insight.
    already_exempted: list[int] = field(default_factory=list)


def expiry_from_day(text: str | None) -> datetime | None:
    """The GUI's "expires on" date (YYYY-MM-DD): the exemption lasts until the end of that day."""
    if not text:
        return None
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise ExemptionInputError({"expires_on": ["the expiry must be a date (YYYY-MM-DD)"]}) from None
    return timezone.make_aware(datetime.combine(day, time.max))


def exempt_resources(
    user: Any,
    insight_id: str,
    resource_ids: Iterable[int],
    *,
    reason: str,
    expires_at: datetime | None = None,
    request: Any = None,
) -> Outcome:
    """Exempt each resource from one insight, with a reason and an optional expiry in the future.

    Every resource must be one the user sees (else "does not exist") and manages (else
    PermissionDenied); on any problem nothing is created. Resources already exempted are skipped
    (all of them already exempted is an error: nothing would change).
    """
    from compliance.evaluate import apply_exemptions
    from compliance.library import insights_for

    ids = sorted({int(pk) for pk in resource_ids})
    reason = (reason or "").strip()
    now = timezone.now()
    problems: dict[str, list[str]] = {}
    if not reason:
        problems["reason"] = ["an exemption needs a reason"]
    elif len(reason) > MAX_REASON:
        problems["reason"] = [f"at most {MAX_REASON} characters"]
    if expires_at is not None and expires_at <= now:
        problems["expires_at"] = ["the expiry must be in the future"]
    if not ids:
        problems["resources"] = ["choose at least one resource"]
    elif len(ids) > MAX_RESOURCES:
        problems["resources"] = [f"at most {MAX_RESOURCES} resources at once ({len(ids)} given); narrow the filter"]
    resources = list(resources_visible_to(user).filter(pk__in=ids).select_related("cloud__organization")) if ids else []
    missing = sorted(set(ids) - {resource.pk for resource in resources})
    if missing:
        problems["resources"] = [f"resource {pk} does not exist" for pk in missing[:20]]
    organizations = {resource.cloud.organization_id for resource in resources}
    if any(insight_id not in insights_for(org) for org in organizations) or not insight_id:
        problems["insight"] = [f"unknown insight {insight_id!r}"]
    if problems:
        raise ExemptionInputError(problems)
    managed = set(resources_managed_by(user).filter(pk__in=ids).values_list("pk", flat=True))
    if len(managed) < len(ids):
        raise PermissionDenied(
            f"you may view but not exempt {len(ids) - len(managed)} of these resources "
            f"(e.g. resource {min(set(ids) - managed)})"
        )

    covered = _already_exempted(insight_id, ids, now)
    if len(covered) == len(ids):
        raise ExemptionInputError({"resources": [f"already exempted from {insight_id}"]})
    outcome = Outcome(already_exempted=sorted(covered))
    with transaction.atomic():
        outcome.created = Exemption.objects.bulk_create(
            Exemption(
                organization=resource.cloud.organization,
                insight_id=insight_id,
                cloud=resource.cloud,
                resource=resource,
                reason=reason,
                approved_by=user.username,
                expires_at=expires_at,
                starts_at=now,
                created_at=now,
            )
            for resource in resources
            if resource.pk not in covered
        )
        # Linked at once (not at the next evaluation): once per cloud, whatever the number of resources.
        for cloud in CloudAccount.objects.filter(pk__in={e.cloud_id for e in outcome.created}):
            apply_exemptions(cloud, now)
        audit.record_many(
            "finding.exempt",
            (
                (
                    exemption.resource,
                    exemption.resource.cloud.organization,
                    {
                        "insight": insight_id,
                        "exemption": exemption.pk,
                        "expires_at": expires_at.isoformat() if expires_at else None,
                    },
                )
                for exemption in outcome.created
            ),
            actor=user,
            request=request,
        )
    return outcome


def _already_exempted(insight_id: str, resource_ids: list[int], now: datetime) -> set[int]:
    """Resources whose finding of the insight an active exemption covers, or that have an active one of their own."""
    linked = Finding.objects.filter(insight_id=insight_id, resource_id__in=resource_ids).exempted(now)
    own = Exemption.objects.active(now).filter(insight_id=insight_id, resource_id__in=resource_ids)
    return set(linked.values_list("resource_id", flat=True)) | set(own.values_list("resource_id", flat=True))


def failing_findings(user: Any, insight_id: str, filters: Mapping[str, Any], request: Any = None) -> QuerySet[Finding]:
    """The findings a bulk exemption by filter covers: failing the insight, not yet exempted, of
    resources the user sees, matching ``filters`` (FindingFilterSet parameters, e.g. cloud, region)."""
    from compliance.filtersets import FindingFilterSet

    unknown = sorted(set(filters) - set(FindingFilterSet.base_filters) | set(filters) & set(_RESERVED_FILTER_KEYS))
    if unknown:
        allowed = sorted(set(FindingFilterSet.base_filters) - set(_RESERVED_FILTER_KEYS))
        raise ExemptionInputError({"filter": [f"unknown filter {', '.join(unknown)}; use {', '.join(allowed)}"]})
    now = timezone.now()
    failing = findings_visible_to(user).filter(insight_id=insight_id, status=FindingStatus.OPEN).not_exempted(now)
    # Like a query string: a list is a repeated parameter (severity=high&severity=critical).
    data = MultiValueDict({k: list(v) if isinstance(v, (list, tuple)) else [v] for k, v in filters.items()})
    filterset = FindingFilterSet(data=data, queryset=failing, request=request)
    if not filterset.is_valid():
        problems = [f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()]
        raise ExemptionInputError({"filter": problems})
    return filterset.qs


def failing_resources(user: Any, insight_id: str, filters: Mapping[str, Any], request: Any = None) -> list[int]:
    ids = failing_findings(user, insight_id, filters, request).values_list("resource_id", flat=True)
    ids = list(ids.distinct()[: MAX_RESOURCES + 1])
    if not ids:
        raise ExemptionInputError({"filter": [f"no resource that fails {insight_id} and is not exempted matches"]})
    return ids


def exempt_matching(
    user: Any,
    insight_id: str,
    filters: Mapping[str, Any],
    *,
    reason: str,
    expires_at: datetime | None = None,
    request: Any = None,
) -> Outcome:
    """Exempt every failing resource of the insight that matches ``filters`` ("select all matching")."""
    return exempt_resources(
        user,
        insight_id,
        failing_resources(user, insight_id, filters, request),
        reason=reason,
        expires_at=expires_at,
        request=request,
    )


def revoke(user: Any, exemption: Exemption, request: Any = None) -> Exemption:
    """End an exemption now. Its findings are kept and count as failing again from now on."""
    from compliance import evaluate
    from insightcloud.accounts.permissions import can_manage_exemption

    if not can_manage_exemption(user, exemption):
        raise PermissionDenied("you may view this exemption but not revoke it")
    now = timezone.now()
    if not exemption.is_active(now) and exemption.starts_at <= now:
        raise ExemptionInputError({"expires_at": [f"this exemption already ended at {exemption.expires_at}"]})
    evaluate.revoke(exemption, now)
    audit.record("exemption.revoke", actor=user, request=request, target=exemption, insight=exemption.insight_id)
    return exemption

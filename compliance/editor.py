"""Custom insights and packs as people edit them, shared by the GUI and the API.

Validation is :func:`compliance.schema.parse_insight` / ``parse_pack`` (what ``manage.py insights
validate`` runs) plus the checks only the database can answer (id of a built-in, id already used
in the organization, insight still used by a pack); its errors come back keyed by the path of the
offending field (``{"filters[0].op": ["unknown operator …"]}``) so each can be shown beside its
field. Saving or deleting records an audit event and queues an evaluation of the organization's
clouds, so a custom insight is evaluated like the built-ins without waiting for the next harvest.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from compliance.filters import Context
from compliance.library import builtin_insights, builtin_packs, insights_for
from compliance.models import CustomInsight, CustomPack
from compliance.schema import DefinitionError, Insight, Pack, parse_insight, parse_pack
from insightcloud.accounts import audit

NON_FIELD = "non_field_errors"
_PATH_LINE = re.compile(r"^([\w.\[\]-]+): (.*)$", re.S)
PREVIEW_PAGE = 2000
#: The preview evaluates at most this many resources (about 30 µs each: JSON decoding and the database
#: transfer dominate), so it answers within a second while typing, whatever the size of the inventory.
PREVIEW_SCAN_LIMIT = 25_000


class ValidationFailed(ValueError):
    """A definition refused; ``errors`` maps a field path (or ``non_field_errors``) to its problems."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))


def errors_by_path(lines: list[str]) -> dict[str, list[str]]:
    """``["filters[0].op: unknown operator …"]`` -> ``{"filters[0].op": ["unknown operator …"]}``."""
    fields: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        match = _PATH_LINE.match(line)
        if match:
            fields[match[1]].append(match[2])
        else:
            fields[NON_FIELD].append(line)
    return dict(fields)


def _packs_using(organization_id: int, insight_id: str) -> list[str]:
    return sorted(
        row.pack_id
        for row in CustomPack.objects.filter(organization_id=organization_id)
        if insight_id in row.parse().insight_ids()
    )


def validate_insight(definition: Any, organization_id: int, current: CustomInsight | None = None) -> Insight:
    """The parsed insight, or :class:`ValidationFailed` with every problem found."""
    try:
        insight = parse_insight(definition, source="custom")
    except DefinitionError as exc:
        raise ValidationFailed(errors_by_path(exc.errors)) from None
    if insight.id in builtin_insights():
        raise ValidationFailed({"id": [f"{insight.id!r} is the id of a built-in insight; choose another"]})
    others = CustomInsight.objects.filter(organization_id=organization_id, insight_id=insight.id)
    if current is not None:
        others = others.exclude(pk=current.pk)
    if others.exists():
        raise ValidationFailed({"id": [f"your organization already has a custom insight {insight.id!r}"]})
    if current is not None and current.insight_id != insight.id:
        used_by = _packs_using(organization_id, current.insight_id)
        if used_by:
            raise ValidationFailed({"id": [f"cannot change: custom pack(s) {', '.join(used_by)} list this insight"]})
    return insight


def reevaluate_organization(organization_id: int, requested_by: str) -> int:
    """Queue an evaluation of every cloud of the organization (deduplicated); how many were asked for."""
    from compliance.jobs import enqueue_evaluation
    from insightcloud.inventory.models import CloudAccount

    clouds = list(CloudAccount.objects.filter(organization_id=organization_id).values_list("pk", flat=True))
    for cloud_id in clouds:
        enqueue_evaluation(cloud_id, requested_by=requested_by)
    return len(clouds)


def save_custom_insight(
    user: Any,
    definition: Any,
    *,
    current: CustomInsight | None = None,
    enabled: bool | None = None,
    request: Any = None,
) -> CustomInsight:
    """Create (``current`` None) or replace a custom insight of the user's organization."""
    insight = validate_insight(definition, user.organization_id, current)
    with transaction.atomic():
        row = current or CustomInsight(organization_id=user.organization_id, created_by=user.username)
        previous_id = row.insight_id if current else None
        row.definition = insight.definition()
        if enabled is not None:
            row.enabled = enabled
        row.save()
        action = "insight.update" if current else "insight.create"
        details = {"hash": row.hash, "enabled": row.enabled}
        if previous_id and previous_id != row.insight_id:
            details["previous_id"] = previous_id
        audit.record(action, actor=user, request=request, target=row.insight_id, **details)
        reevaluate_organization(user.organization_id, user.username)
    return row


def delete_custom_insight(user: Any, row: CustomInsight, *, request: Any = None) -> None:
    """Delete a custom insight unless a custom pack lists it; its open findings resolve at the evaluation."""
    used_by = _packs_using(row.organization_id, row.insight_id)
    if used_by:
        raise ValidationFailed({NON_FIELD: [f"custom pack(s) {', '.join(used_by)} list this insight; edit them first"]})
    with transaction.atomic():
        insight_id = row.insight_id
        row.delete()
        audit.record("insight.delete", actor=user, request=request, target=insight_id)
        reevaluate_organization(user.organization_id, user.username)


@dataclass
class Preview:
    matches: list  # the first resources that fail the insight (Resource rows, with their cloud)
    total: int  # how many of the scanned resources fail it
    scanned: int
    truncated: bool  # True when more candidate resources exist than were scanned


def matching_part(definition: Any) -> Insight | None:
    """The insight made of what decides matches (types, clouds, filters) when those are valid, whatever
    the rest: an editor previews the resources before the insight has a name."""
    if not isinstance(definition, dict):
        return None
    placeholder = {"id": "preview", "name": "preview", "description": "-", "remediation": "-", "severity": "info"}
    probe = {key: definition.get(key) for key in ("resource_types", "clouds", "filters")}
    try:
        return parse_insight({**placeholder, **probe}, source="custom")
    except DefinitionError:
        return None


def preview(insight: Insight, resources: QuerySet, *, limit: int = 20, scan_limit: int = PREVIEW_SCAN_LIMIT) -> Preview:
    """Which of ``resources`` (the user's visible inventory) the insight would flag, computed as the
    evaluation does: the same compiled predicate over the normalized properties."""
    candidates = resources.filter(
        deleted_at__isnull=True, resource_type__in=insight.resource_types, provider__in=insight.clouds
    ).annotate(properties_text=Cast("properties", TextField()))
    now = timezone.now()
    contexts: dict[str, Context] = {}
    matched: list[int] = []
    total = scanned = 0
    last_pk = 0
    truncated = False
    while True:
        page = list(
            candidates.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "properties_text", "cloud__account_id")[: min(PREVIEW_PAGE, scan_limit - scanned)]
        )
        if not page:
            break
        last_pk = page[-1][0]
        for pk, text, account_id in page:
            context = contexts.get(account_id)
            if context is None:
                context = contexts[account_id] = Context(account_id=account_id, now=now)
            try:
                failing = bool(insight.predicate(json.loads(text) if text else {}, context))
            except Exception:  # noqa: BLE001 - malformed properties: undecidable, not a match (as in evaluation)
                failing = False
            if failing:
                total += 1
                if len(matched) < limit:
                    matched.append(pk)
        scanned += len(page)
        if scanned >= scan_limit:
            truncated = candidates.filter(pk__gt=last_pk).exists()
            break
    rows = {r.pk: r for r in resources.model.objects.filter(pk__in=matched).select_related("cloud")}
    return Preview([rows[pk] for pk in matched if pk in rows], total, scanned, truncated)


# --------------------------------------------------------------------------- packs


def pack_of_insights(pack_id: str, name: str, description: str, insight_ids: list[str], catalog: dict) -> dict:
    """A pack definition that is a named list of insights: one control per insight."""
    controls = [
        {"id": key, "title": catalog[key].name if key in catalog else key, "insights": [key]} for key in insight_ids
    ]
    definition: dict[str, Any] = {"id": pack_id, "name": name, "controls": controls}
    if description:
        definition["description"] = description
    return definition


def validate_pack(definition: Any, organization_id: int, current: CustomPack | None = None) -> Pack:
    try:
        pack = parse_pack(definition, source="custom", known_insights=set(insights_for(organization_id)))
    except DefinitionError as exc:
        raise ValidationFailed(errors_by_path(exc.errors)) from None
    if pack.id in builtin_packs():
        raise ValidationFailed({"id": [f"{pack.id!r} is the id of a built-in pack; choose another"]})
    others = CustomPack.objects.filter(organization_id=organization_id, pack_id=pack.id)
    if current is not None:
        others = others.exclude(pk=current.pk)
    if others.exists():
        raise ValidationFailed({"id": [f"your organization already has a custom pack {pack.id!r}"]})
    return pack


def save_custom_pack(
    user: Any, definition: Any, *, current: CustomPack | None = None, request: Any = None
) -> CustomPack:
    validate_pack(definition, user.organization_id, current)
    with transaction.atomic():
        row = current or CustomPack(organization_id=user.organization_id, created_by=user.username)
        row.definition = definition
        row.save()
        audit.record("pack.update" if current else "pack.create", actor=user, request=request, target=row.pack_id)
        # Scorecards of the pack are computed by the next evaluation of each cloud.
        reevaluate_organization(user.organization_id, user.username)
    return row


def delete_custom_pack(user: Any, row: CustomPack, *, request: Any = None) -> None:
    from compliance.models import Scorecard

    with transaction.atomic():
        Scorecard.objects.filter(cloud__organization_id=row.organization_id, pack_id=row.pack_id).delete()
        pack_id = row.pack_id
        row.delete()
        audit.record("pack.delete", actor=user, request=request, target=pack_id)

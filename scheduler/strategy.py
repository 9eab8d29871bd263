"""Reading and editing one cloud's harvest strategy: intervals per type and disabled regions.

The planner reads the same :class:`HarvestStrategy` (``planner.base_interval``, disabled regions);
an edit here also moves the already planned next runs onto the new interval, so a shorter interval
takes effect at once instead of after the next (old-interval) harvest.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max, Min, Sum

from insightcloud.inventory.models import CloudAccount
from insightcloud.registry import registry
from scheduler import planner
from scheduler.models import HarvestState, HarvestStrategy

#: Shorter intervals would mostly measure the clouds' API rate limits.
MIN_INTERVAL_MINUTES = 5
#: Dynamic scheduling caps every interval at once a day; a longer override would be cut back to it.
MAX_INTERVAL_MINUTES = planner.MAX_INTERVAL_MINUTES


class StrategyError(ValueError):
    """Invalid edit: ``fields`` maps each offending field to its problems; nothing was saved."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{name}: {' '.join(problems)}" for name, problems in fields.items()))


def type_specs(provider: str) -> list:
    return sorted(
        (spec for _, spec in registry.items("resource_types") if spec.provider == provider),
        key=lambda spec: spec.native_type,
    )


def interval_keys(provider: str) -> set[str]:
    """What an override may name: a native type of the cloud's provider, or one of its normalized types."""
    specs = type_specs(provider)
    return {spec.native_type for spec in specs} | {spec.resource_type for spec in specs}


def default_intervals() -> dict[str, list[dict[str, Any]]]:
    """Per provider, each harvested native type with its default interval in minutes, and how many
    clouds override it (the System page's settings; a cloud's own page edits its overrides)."""
    overrides: dict[str, int] = {}
    for intervals in HarvestStrategy.objects.exclude(intervals={}).values_list("intervals", flat=True):
        for key in intervals or {}:
            overrides[key] = overrides.get(key, 0) + 1
    by_provider: dict[str, list[dict[str, Any]]] = {}
    for provider in sorted({spec.provider for _, spec in registry.items("resource_types")}):
        by_provider[provider] = [
            {
                "native_type": spec.native_type,
                "resource_type": spec.resource_type,
                "minutes": planner.base_interval(spec, None),
                "overridden_by": overrides.get(spec.native_type, 0) + overrides.get(spec.resource_type, 0),
            }
            for spec in type_specs(provider)
        ]
    return by_provider


def selectable_regions(cloud: CloudAccount) -> list[str]:
    """Regions that can be switched on and off: the cloud's, and any the scheduler already plans for."""
    planned = cloud.harvest_states.exclude(region__in=[planner.GLOBAL, planner.ALL_REGIONS])
    return sorted(set(cloud.regions or []) | set(planned.values_list("region", flat=True).distinct()))


def overview(cloud: CloudAccount) -> list[dict[str, Any]]:
    """One row per native type: its interval (default and override), last harvest, next run, count."""
    strategy = planner.strategy_of(cloud)
    disabled = set(strategy.disabled_regions) if strategy else set()
    states = {
        row["native_type"]: row
        for row in cloud.harvest_states.exclude(region__in=disabled)
        .values("native_type")
        .annotate(last=Max("last_enqueued_at"), next=Min("next_due_at"), count=Sum("last_count"))
    }
    overrides = strategy.intervals if strategy else {}
    rows = []
    for spec in type_specs(cloud.provider):
        state = states.get(spec.native_type, {})
        default = planner.base_interval(spec, None)
        rows.append(
            {
                "native_type": spec.native_type,
                "resource_type": spec.resource_type,
                "default_minutes": default,
                "minutes": planner.base_interval(spec, strategy),
                "override": overrides.get(spec.native_type),
                # what applies without a native-type override: one by normalized type, else the default
                "fallback_minutes": overrides.get(spec.resource_type, default),
                "last_harvest_at": state.get("last"),
                "next_due_at": state.get("next"),
                "last_count": state.get("count"),
                "permissions": list(spec.permissions),
            }
        )
    return rows


def _clean_intervals(cloud: CloudAccount, intervals: Any) -> dict[str, int]:
    if not isinstance(intervals, dict):
        raise StrategyError({"intervals": ["expected an object mapping a type to minutes"]})
    known, problems, cleaned = interval_keys(cloud.provider), [], {}
    for key, minutes in intervals.items():
        if key not in known:
            problems.append(f"unknown {cloud.provider} resource type {key!r}")
            continue
        if minutes in (None, ""):
            continue  # back to the default
        try:
            value = int(minutes)
            if str(value) != str(minutes).strip():
                raise ValueError
        except (TypeError, ValueError):
            problems.append(f"{key}: {minutes!r} is not a whole number of minutes")
            continue
        if not MIN_INTERVAL_MINUTES <= value <= MAX_INTERVAL_MINUTES:
            problems.append(f"{key}: {value} must be between {MIN_INTERVAL_MINUTES} and {MAX_INTERVAL_MINUTES} minutes")
            continue
        cleaned[key] = value
    if problems:
        raise StrategyError({"intervals": problems})
    return cleaned


def _clean_regions(cloud: CloudAccount, regions: Any) -> list[str]:
    if not isinstance(regions, list) or not all(isinstance(region, str) for region in regions):
        raise StrategyError({"disabled_regions": ["expected a list of region names"]})
    known = selectable_regions(cloud)
    unknown = sorted({region for region in regions if region not in known})
    if unknown:
        raise StrategyError({"disabled_regions": [f"not a region of this cloud: {', '.join(unknown)}"]})
    if known and set(regions) >= set(known):
        raise StrategyError({"disabled_regions": ["at least one region must stay enabled (pause the cloud instead)"]})
    return sorted(set(regions))


def update(
    cloud: CloudAccount, *, intervals: Any = None, disabled_regions: Any = None, dynamic: bool | None = None
) -> HarvestStrategy:
    """Validate and save the changes given (None: unchanged); ``intervals`` replaces all overrides."""
    changes: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value, clean in (
        ("intervals", intervals, _clean_intervals),
        ("disabled_regions", disabled_regions, _clean_regions),
    ):
        if value is None:
            continue
        try:
            changes[name] = clean(cloud, value)
        except StrategyError as exc:
            errors.update(exc.fields)
    if errors:
        raise StrategyError(errors)
    if dynamic is not None:
        changes["dynamic"] = bool(dynamic)
    with transaction.atomic():
        strategy, _ = HarvestStrategy.objects.select_for_update().get_or_create(cloud=cloud)
        for name, value in changes.items():
            setattr(strategy, name, value)
        strategy.save()
        cloud.harvest_strategy = strategy
        reschedule(cloud, strategy)
    return strategy


def reschedule(cloud: CloudAccount, strategy: HarvestStrategy) -> int:
    """Put each planned run where the current interval puts it after the last run; returns how many moved."""
    specs = {spec.native_type: spec for spec in type_specs(cloud.provider)}
    moved = 0
    states = cloud.harvest_states.filter(last_enqueued_at__isnull=False, last_job__isnull=True)
    for state in states:
        spec = specs.get(state.native_type)
        if spec is None:
            continue
        minutes = planner.effective_interval(planner.base_interval(spec, strategy), state.empty_runs, strategy.dynamic)
        due = planner.next_due(state.last_enqueued_at, minutes, cloud.pk)
        if due != state.next_due_at:
            HarvestState.objects.filter(pk=state.pk).update(next_due_at=due)
            moved += 1
    return moved

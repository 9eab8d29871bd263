"""The insight and pack catalog: built-in YAML (loaded and validated once) plus an organization's
custom ones from the database. Built-in insights get their ``controls`` from the packs that list them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from pathlib import Path

import yaml

from compliance.schema import DefinitionError, Insight, Pack, parse_insight, parse_pack

INSIGHTS_DIR = Path(__file__).resolve().parent / "insights"
PACKS_DIR = Path(__file__).resolve().parent / "packs"


def load_yaml(path: Path) -> object:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def parse_insight_file(path: Path, *, source: str | None = None) -> list[Insight]:
    """Every insight in a YAML file (``insights: [...]``, a list, or one mapping); all errors at once."""
    try:
        data = load_yaml(path)
    except yaml.YAMLError as exc:
        raise DefinitionError([f"not valid YAML: {exc}"], path.name) from None
    if isinstance(data, dict) and "insights" in data:
        items, prefix = data["insights"], "insights"
    elif isinstance(data, list):
        items, prefix = data, ""
    else:
        items, prefix = [data], None
    if not isinstance(items, list):
        raise DefinitionError(["insights: expected a list"], path.name)
    found, errors = [], []
    for i, definition in enumerate(items):
        where = path.name if prefix is None else f"{path.name}: {prefix}[{i}]" if prefix else f"{path.name}: [{i}]"
        try:
            found.append(parse_insight(definition, source=source or f"builtin:{path.name}", where=where))
        except DefinitionError as exc:
            errors.extend(exc.errors)
    if errors:
        raise DefinitionError(errors)
    return found


@functools.cache
def _builtin_catalog() -> tuple[dict[str, Insight], dict[str, Pack]]:
    insights: dict[str, Insight] = {}
    errors: list[str] = []
    for path in sorted(INSIGHTS_DIR.glob("*.yaml")):
        try:
            parsed = parse_insight_file(path)
        except DefinitionError as exc:
            errors.extend(exc.errors)
            continue
        for insight in parsed:
            if insight.id in insights:
                errors.append(f"{path.name}: id {insight.id!r} is already defined in {insights[insight.id].source}")
            insights[insight.id] = insight
    packs: dict[str, Pack] = {}
    for path in sorted(PACKS_DIR.glob("*.yaml")):
        try:
            pack = parse_pack(
                load_yaml(path), source=f"builtin:{path.name}", where=path.name, known_insights=set(insights)
            )
        except DefinitionError as exc:
            errors.extend(exc.errors)
            continue
        packs[pack.id] = pack
    if errors:
        raise DefinitionError(errors)
    controls = controls_by_insight(packs.values())
    insights = {
        key: dataclasses.replace(insight, controls=tuple(sorted(set(insight.controls) | controls.get(key, set()))))
        for key, insight in insights.items()
    }
    return insights, packs


def controls_by_insight(packs: object) -> dict[str, set[str]]:
    mapping: dict[str, set[str]] = defaultdict(set)
    for pack in packs:  # type: ignore[attr-defined]
        for control in pack.controls:
            for insight_id in control.insights:
                mapping[insight_id].add(f"{pack.id}:{control.id}")
    return mapping


def builtin_insights() -> dict[str, Insight]:
    return _builtin_catalog()[0]


def builtin_packs() -> dict[str, Pack]:
    return _builtin_catalog()[1]


def insights_for(organization_id: int | None) -> dict[str, Insight]:
    """Built-in insights plus the organization's custom ones."""
    insights = dict(builtin_insights())
    if organization_id is not None:
        from compliance.models import CustomInsight

        for row in CustomInsight.objects.filter(organization_id=organization_id, enabled=True):
            insights[row.insight_id] = row.parse()
    return insights


def packs_for(organization_id: int | None) -> dict[str, Pack]:
    packs = dict(builtin_packs())
    if organization_id is not None:
        from compliance.models import CustomPack

        for row in CustomPack.objects.filter(organization_id=organization_id):
            packs[row.pack_id] = row.parse()
    return packs


def applicable(insights: dict[str, Insight], provider: str) -> dict[str, Insight]:
    return {key: insight for key, insight in insights.items() if provider in insight.clouds}


def counts_by_cloud(insights: dict[str, Insight] | None = None) -> dict[str, int]:
    """How many insights apply to each cloud (an insight on normalized properties counts for each)."""
    counts: dict[str, int] = defaultdict(int)
    for insight in (insights or builtin_insights()).values():
        for cloud in insight.clouds:
            counts[cloud] += 1
    return dict(counts)

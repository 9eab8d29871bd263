"""The built-in library: it loads, it is big enough, and every insight proves itself on its own cases."""

from __future__ import annotations

import pytest

from compliance.filters import Context
from compliance.library import builtin_insights, counts_by_cloud
from harvesters.normalized import TYPES

INSIGHTS = builtin_insights()


def _run(insight, case) -> bool:
    context = Context(account_id=case.get("account_id", "111122223333"))
    return insight.predicate(case["properties"], context)


def test_library_meets_the_minimum_per_cloud():
    counts = counts_by_cloud()
    assert counts["aws"] >= 60
    assert counts["azure"] >= 30
    assert counts["gcp"] >= 30
    assert counts["alibaba"] >= 20


def test_every_builtin_insight_has_a_failing_and_a_passing_case():
    missing = [
        insight.id for insight in INSIGHTS.values() if not insight.tests.get("fail") or not insight.tests.get("pass")
    ]
    assert missing == []


def test_every_builtin_insight_uses_normalized_types_and_has_remediation():
    for insight in INSIGHTS.values():
        assert set(insight.resource_types) <= set(TYPES), insight.id
        assert insight.remediation and insight.description, insight.id


@pytest.mark.parametrize("insight_id", sorted(INSIGHTS))
def test_builtin_insight_flags_its_failing_cases_and_passes_its_passing_ones(insight_id):
    insight = INSIGHTS[insight_id]
    for i, case in enumerate(insight.tests["fail"]):
        assert _run(insight, case), f"{insight_id}: tests.fail[{i}] was not flagged"
    for i, case in enumerate(insight.tests["pass"]):
        assert not _run(insight, case), f"{insight_id}: tests.pass[{i}] was flagged"


def test_properties_used_in_cases_are_declared_normalized_keys():
    """A case may only use keys a harvester is told to fill (normalized.py), so insights match real data."""
    undeclared = []
    for insight in INSIGHTS.values():
        declared = {key for t in insight.resource_types for key in {**TYPES[t].properties, **TYPES[t].optional}}
        for outcome in ("fail", "pass"):
            for case in insight.tests[outcome]:
                undeclared += [f"{insight.id}: {key}" for key in case["properties"] if key not in declared]
    assert undeclared == []

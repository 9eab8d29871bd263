"""Evaluation: findings are created, kept, resolved and re-opened; incremental runs only look at what changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.evaluate import evaluate_cloud
from compliance.models import DailyCount, EvaluationState, Finding, Scorecard
from compliance.schema import parse_insight
from tests.compliance.conftest import delete, touch

pytestmark = pytest.mark.django_db

UNENCRYPTED = {"encrypted": False, "kms_key_id": None, "attached_to": ["i-1"], "state": "in-use", "size_gb": 8}
ENCRYPTED = {**UNENCRYPTED, "encrypted": True, "kms_key_id": "arn:aws:kms:us-east-1:111122223333:key/1"}


def _volume_insight(**changes):
    definition = {
        "id": "test-volume-unencrypted",
        "name": "Volume unencrypted",
        "description": "test",
        "severity": "high",
        "resource_types": ["volume"],
        "clouds": ["aws"],
        "filters": [{"key": "encrypted", "op": "eq", "value": False}],
        "remediation": "encrypt",
    }
    definition.update(changes)
    insight = parse_insight(definition)
    return {insight.id: insight}


def _later(seconds=1):
    return timezone.now() + timedelta(seconds=seconds)


def test_failing_resource_gets_an_open_finding(aws_cloud, make_resource):
    bad = make_resource(aws_cloud, "volume", UNENCRYPTED)
    make_resource(aws_cloud, "volume", ENCRYPTED)
    result = evaluate_cloud(aws_cloud, insights=_volume_insight())
    finding = Finding.objects.get()
    assert finding.resource == bad
    assert finding.status == "open" and finding.severity == "high"
    assert result.insights["test-volume-unencrypted"].open == 1
    assert result.evaluations == 2


def test_builtin_library_flags_an_unencrypted_volume(aws_cloud, make_resource):
    make_resource(aws_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(aws_cloud)
    assert set(Finding.objects.values_list("insight_id", flat=True)) == {"volume-unencrypted", "volume-without-cmk"}
    assert Scorecard.objects.filter(cloud=aws_cloud, pack_id="cis-aws-3.0").exists()
    assert not Scorecard.objects.filter(cloud=aws_cloud, pack_id="cis-gcp-3.0").exists()


def test_fixed_resource_is_resolved_and_reopened_when_it_fails_again(aws_cloud, make_resource):
    volume = make_resource(aws_cloud, "volume", UNENCRYPTED)
    insights = _volume_insight()
    evaluate_cloud(aws_cloud, insights=insights)
    first_seen = Finding.objects.get().first_seen

    touch(volume, encrypted=True)
    evaluate_cloud(aws_cloud, insights=insights)
    finding = Finding.objects.get()
    assert finding.status == "resolved" and finding.resolved_at is not None

    touch(volume, encrypted=False)
    evaluate_cloud(aws_cloud, insights=insights)
    finding = Finding.objects.get()
    assert finding.status == "open" and finding.resolved_at is None
    assert finding.first_seen == first_seen and finding.reopened_count == 1


def test_deleted_resource_resolves_its_findings(aws_cloud, make_resource):
    volume = make_resource(aws_cloud, "volume", UNENCRYPTED)
    insights = _volume_insight()
    evaluate_cloud(aws_cloud, insights=insights)
    delete(volume)
    result = evaluate_cloud(aws_cloud, insights=insights)
    assert Finding.objects.get().status == "resolved"
    assert result.insights["test-volume-unencrypted"].resolved == 1


def test_incremental_run_reads_only_changed_resources(aws_cloud, make_resource):
    volumes = [make_resource(aws_cloud, "volume", UNENCRYPTED) for _ in range(5)]
    insights = _volume_insight()
    evaluate_cloud(aws_cloud, insights=insights)
    touch(volumes[0], encrypted=True)
    result = evaluate_cloud(aws_cloud, insights=insights)
    assert result.resources == 1 and result.evaluations == 1
    assert Finding.objects.filter(status="open").count() == 4


def test_open_findings_of_unchanged_resources_are_seen_again(aws_cloud, make_resource):
    make_resource(aws_cloud, "volume", UNENCRYPTED)
    insights = _volume_insight()
    evaluate_cloud(aws_cloud, insights=insights)
    later = _later(60)
    evaluate_cloud(aws_cloud, insights=insights, now=later)
    finding = Finding.objects.get()
    assert finding.effective_last_seen(EvaluationState.objects.get(cloud=aws_cloud).last_evaluated_at) == later
    from compliance.export import records

    assert next(records([finding], insights))["last_seen"] == later.isoformat()


def test_changed_insight_re_evaluates_every_resource(aws_cloud, make_resource):
    make_resource(aws_cloud, "volume", {**UNENCRYPTED, "size_gb": 100})
    make_resource(aws_cloud, "volume", {**UNENCRYPTED, "size_gb": 8})
    evaluate_cloud(aws_cloud, insights=_volume_insight())
    bigger = _volume_insight(filters=[{"key": "size_gb", "op": "gt", "value": 50}])
    result = evaluate_cloud(aws_cloud, insights=bigger, now=_later())
    assert result.changed_insights == ["test-volume-unencrypted"]
    assert result.resources == 2
    assert Finding.objects.filter(status="open").count() == 1


def test_removed_insight_resolves_its_findings(aws_cloud, make_resource):
    make_resource(aws_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(aws_cloud, insights=_volume_insight())
    result = evaluate_cloud(aws_cloud, insights={}, now=_later())
    assert result.removed_insights == ["test-volume-unencrypted"]
    assert Finding.objects.get().status == "resolved"


def test_full_run_re_evaluates_unchanged_resources(aws_cloud, make_resource):
    for _ in range(3):
        make_resource(aws_cloud, "volume", UNENCRYPTED)
    insights = _volume_insight()
    evaluate_cloud(aws_cloud, insights=insights)
    assert evaluate_cloud(aws_cloud, insights=insights, now=_later()).resources == 0
    result = evaluate_cloud(aws_cloud, insights=insights, full=True, now=_later(2))
    assert result.resources == 3 and result.full
    assert EvaluationState.objects.get(cloud=aws_cloud).last_full_at is not None


def test_insight_for_another_cloud_is_not_applied(gcp_cloud, make_resource):
    make_resource(gcp_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(gcp_cloud, insights=_volume_insight())
    assert not Finding.objects.exists()


def test_history_counts_failures_per_cloud_insight_and_pack(aws_cloud, make_resource):
    make_resource(aws_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(aws_cloud)
    today = DailyCount.objects.filter(cloud=aws_cloud)
    assert today.get(scope="cloud").failed == 2
    assert today.get(scope="insight", scope_id="volume-unencrypted").failed == 1
    assert today.get(scope="pack", scope_id="cis-aws-3.0").failed == 1


def test_scorecard_counts_passed_and_failed_resources_per_control(aws_cloud, make_resource):
    make_resource(aws_cloud, "volume", UNENCRYPTED)
    make_resource(aws_cloud, "volume", ENCRYPTED)
    evaluate_cloud(aws_cloud)
    card = Scorecard.objects.get(cloud=aws_cloud, pack_id="cis-aws-3.0")
    control = card.controls["2.2.1"]
    assert (control["passed"], control["failed"], control["status"]) == (1, 1, "fail")
    assert card.controls["1.1"]["status"] == "manual"
    assert card.controls["4.1"]["status"] == "not-covered"
    assert card.controls["1.4"]["status"] == "not-applicable"  # no cloud_account resource harvested
    assert 0 < card.score < 100


def test_malformed_properties_leave_that_insight_undecided_but_evaluate_the_rest(aws_cloud, make_resource):
    from compliance.library import builtin_insights

    insights = {
        key: builtin_insights()[key]
        for key in ("security-group-ssh-open-to-world", "default-security-group-allows-traffic")
    }
    make_resource(aws_cloud, "security_group", {"ingress": ["not-a-rule"], "egress": [], "is_default": True})
    result = evaluate_cloud(aws_cloud, insights=insights)
    assert result.errors == {"security-group-ssh-open-to-world": 1}
    assert list(Finding.objects.values_list("insight_id", flat=True)) == ["default-security-group-allows-traffic"]


def test_new_severity_of_an_edited_insight_reaches_its_findings(aws_cloud, make_resource):
    make_resource(aws_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(aws_cloud, insights=_volume_insight())
    evaluate_cloud(aws_cloud, insights=_volume_insight(severity="critical"), now=_later())
    assert Finding.objects.get().severity == "critical"


def test_findings_of_a_type_an_edited_insight_no_longer_covers_are_resolved(aws_cloud, make_resource):
    make_resource(aws_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(aws_cloud, insights=_volume_insight())
    evaluate_cloud(aws_cloud, insights=_volume_insight(resource_types=["snapshot"]), now=_later())
    assert Finding.objects.get().status == "resolved"


def test_scorecard_counts_follow_new_and_deleted_resources_between_runs(aws_cloud, make_resource):
    first = make_resource(aws_cloud, "volume", ENCRYPTED)
    evaluate_cloud(aws_cloud)
    make_resource(aws_cloud, "volume", ENCRYPTED)
    make_resource(aws_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(aws_cloud)
    control = Scorecard.objects.get(cloud=aws_cloud, pack_id="cis-aws-3.0").controls["2.2.1"]
    assert (control["passed"], control["failed"]) == (2, 1)
    delete(first)
    evaluate_cloud(aws_cloud)
    control = Scorecard.objects.get(cloud=aws_cloud, pack_id="cis-aws-3.0").controls["2.2.1"]
    assert (control["passed"], control["failed"]) == (1, 1)


def test_incremental_runs_keep_the_cached_open_findings_equal_to_the_database(aws_cloud, make_resource):
    import random

    from compliance.evaluate import OpenFindings, _open_findings

    rng = random.Random(7)
    volumes = [make_resource(aws_cloud, "volume", {**UNENCRYPTED, "encrypted": rng.random() < 0.5}) for _ in range(30)]
    evaluate_cloud(aws_cloud)
    for _ in range(4):
        for volume in rng.sample(volumes, 8):
            if volume.deleted_at is None:
                touch(volume, encrypted=rng.random() < 0.5, kms_key_id=rng.choice([None, "k"]))
        gone = rng.choice([v for v in volumes if v.deleted_at is None])
        delete(gone)
        volumes.append(make_resource(aws_cloud, "volume", {**UNENCRYPTED, "encrypted": rng.random() < 0.5}))
        result = evaluate_cloud(aws_cloud)
        assert not result.full
        cached = OpenFindings.load(EvaluationState.objects.get(cloud=aws_cloud).open_findings_cache)
        fresh = {key: ids for key, ids in _open_findings(aws_cloud, timezone.now()).by_insight.items() if ids}
        assert {key: ids for key, ids in cached.items() if ids} == fresh
        assert result.insights["volume-unencrypted"].open == len(fresh.get("volume-unencrypted", ()))


def test_findings_changed_outside_an_evaluation_are_read_afresh(aws_cloud, make_resource):
    make_resource(aws_cloud, "volume", UNENCRYPTED)
    other = make_resource(aws_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(aws_cloud)
    Finding.objects.filter(resource=other).delete()  # e.g. the resource row was removed by an administrator
    result = evaluate_cloud(aws_cloud, now=_later())
    assert result.insights["volume-unencrypted"].open == 1
    assert DailyCount.objects.get(cloud=aws_cloud, scope="insight", scope_id="volume-unencrypted").failed == 1

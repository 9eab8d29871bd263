"""Exemptions: per resource or by rule, with a window; exempted findings are kept and shown as exempted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.evaluate import evaluate_cloud, exempt
from compliance.models import DailyCount, Exemption, Finding, Scorecard

pytestmark = pytest.mark.django_db

UNENCRYPTED = {"encrypted": False, "kms_key_id": None, "attached_to": ["i-1"]}


def _exemption(cloud, **scope):
    return Exemption(
        organization=cloud.organization, insight_id="volume-unencrypted", reason="legacy app, migration Q3",
        approved_by="ciso@example.com", **scope,
    )  # fmt: skip


def _finding(resource):
    return Finding.objects.get(resource=resource, insight_id="volume-unencrypted")


def test_resource_exemption_marks_the_finding_exempted_and_keeps_it(aws_cloud, make_resource):
    volume = make_resource(aws_cloud, "volume", UNENCRYPTED)
    other = make_resource(aws_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(aws_cloud)
    exempt(_exemption(aws_cloud, resource=volume))
    assert _finding(volume).is_exempted() and _finding(volume).status == "open"
    assert not _finding(other).is_exempted()
    assert list(Finding.objects.filter(insight_id="volume-unencrypted").exempted()) == [_finding(volume)]


def test_tag_rule_exempts_matching_resources(aws_cloud, make_resource):
    sandbox = make_resource(aws_cloud, "volume", UNENCRYPTED, tags={"env": "sandbox"})
    prod = make_resource(aws_cloud, "volume", UNENCRYPTED, tags={"env": "prod"})
    evaluate_cloud(aws_cloud)
    exempt(_exemption(aws_cloud, tag_key="env", tag_value="sandbox"))
    assert _finding(sandbox).is_exempted() and not _finding(prod).is_exempted()


def test_name_regex_rule_exempts_matching_resources(aws_cloud, make_resource):
    scratch = make_resource(aws_cloud, "volume", UNENCRYPTED, name="scratch-disk-1")
    data = make_resource(aws_cloud, "volume", UNENCRYPTED, name="data-disk")
    evaluate_cloud(aws_cloud)
    exempt(_exemption(aws_cloud, name_regex="^scratch-"))
    assert _finding(scratch).is_exempted() and not _finding(data).is_exempted()


def test_resource_group_rule_exempts_its_members(aws_cloud, make_resource):
    from insightcloud.inventory.models import ResourceGroup

    member = make_resource(aws_cloud, "volume", UNENCRYPTED)
    outsider = make_resource(aws_cloud, "volume", UNENCRYPTED)
    group = ResourceGroup.objects.create(organization=aws_cloud.organization, name="legacy")
    group.resources.add(member)
    evaluate_cloud(aws_cloud)
    exempt(_exemption(aws_cloud, resource_group=group))
    assert _finding(member).is_exempted() and not _finding(outsider).is_exempted()


def test_exemption_applies_to_findings_created_later(aws_cloud, make_resource):
    exempt(_exemption(aws_cloud, tag_key="env", tag_value="sandbox"))
    volume = make_resource(aws_cloud, "volume", UNENCRYPTED, tags={"env": "sandbox"})
    evaluate_cloud(aws_cloud)
    assert _finding(volume).is_exempted()


def test_expired_exemption_stops_applying_by_itself(aws_cloud, make_resource):
    volume = make_resource(aws_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(aws_cloud)
    exemption = _exemption(aws_cloud, resource=volume, expires_at=timezone.now() + timedelta(days=1))
    exempt(exemption)
    assert _finding(volume).is_exempted()
    # No re-evaluation: a day later the same row simply no longer counts as exempted.
    assert not _finding(volume).is_exempted(timezone.now() + timedelta(days=2))
    assert not Finding.objects.exempted(timezone.now() + timedelta(days=2)).exists()
    assert Finding.objects.filter(pk=_finding(volume).pk).exists()


def test_exemption_that_has_not_started_does_not_apply(aws_cloud, make_resource):
    volume = make_resource(aws_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(aws_cloud)
    exempt(_exemption(aws_cloud, resource=volume, starts_at=timezone.now() + timedelta(days=1)))
    assert not _finding(volume).is_exempted()


def test_exemption_without_scope_is_refused(aws_cloud):
    with pytest.raises(ValueError, match="needs a resource"):
        exempt(_exemption(aws_cloud))
    assert not Exemption.objects.exists()


def test_exempted_findings_count_as_exempted_not_failed(aws_cloud, make_resource):
    volume = make_resource(aws_cloud, "volume", UNENCRYPTED)
    exempt(_exemption(aws_cloud, resource=volume))
    evaluate_cloud(aws_cloud)
    insight_day = DailyCount.objects.get(cloud=aws_cloud, scope="insight", scope_id="volume-unencrypted")
    assert (insight_day.failed, insight_day.exempted) == (0, 1)
    control = Scorecard.objects.get(cloud=aws_cloud, pack_id="cis-aws-3.0").controls["2.2.1"]
    assert (control["failed"], control["exempted"], control["status"]) == (0, 1, "pass")


def test_narrowed_exemption_lets_go_of_findings_it_no_longer_covers(aws_cloud, make_resource):
    sandbox = make_resource(aws_cloud, "volume", UNENCRYPTED, tags={"env": "sandbox"})
    evaluate_cloud(aws_cloud)
    exemption = _exemption(aws_cloud, tag_key="env", tag_value="sandbox")
    exempt(exemption)
    assert _finding(sandbox).is_exempted()
    exemption.tag_value = "playground"
    exemption.save()
    evaluate_cloud(aws_cloud)
    assert not _finding(sandbox).is_exempted()

"""Editing a cloud's harvest strategy (GUI/API): validated, and honoured by the scheduler's next pass."""

# ruff: noqa: F811  (the throw-away testcloud types and cloud come from test_planner)

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduler import strategy
from scheduler.models import HarvestState, HarvestStrategy
from tests.scheduler.test_planner import cloud, plan, run_all, testcloud_types  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

INSTANCES = "testcloud.compute.instance"


def test_a_shorter_interval_for_one_cloud_is_honoured_at_the_next_pass(cloud):
    strategy.update(cloud, dynamic=False)  # nothing is ever found here: keep the intervals as they are
    start = timezone.now()
    plan(start)
    run_all()
    plan(start + timedelta(seconds=1))  # accounts for the finished harvests
    at = start + timedelta(minutes=7, seconds=30)
    assert not plan(at), "every type waits at least 15 minutes by default"

    strategy.update(cloud, intervals={INSTANCES: 5}, disabled_regions=["us-east-1"])

    planned = sorted((job.arguments["regions"][0], job.arguments["types"][0]) for job in plan(at))
    assert planned == [("eu-west-1", INSTANCES)]
    eu = HarvestState.objects.get(region="eu-west-1", native_type=INSTANCES)
    assert at + timedelta(minutes=2.5) < eu.next_due_at <= at + timedelta(minutes=7.5)


def test_the_overview_shows_defaults_overrides_and_last_runs(cloud):
    strategy.update(cloud, intervals={INSTANCES: 10, "storage_container": 45})
    start = timezone.now()
    plan(start)
    rows = {row["native_type"]: row for row in strategy.overview(cloud)}
    assert (rows[INSTANCES]["default_minutes"], rows[INSTANCES]["minutes"]) == (15, 10)
    assert rows["testcloud.storage.bucket"]["minutes"] == 45  # by normalized type
    assert rows["testcloud.iam.user"]["minutes"] == 120 and rows["testcloud.iam.user"]["override"] is None
    assert rows[INSTANCES]["last_harvest_at"] is not None and rows[INSTANCES]["permissions"] == ["x:List"]


@pytest.mark.parametrize(
    "changes, field, problem",
    [
        ({"intervals": {INSTANCES: 1}}, "intervals", "must be between 5 and 1440 minutes"),
        ({"intervals": {INSTANCES: 2000}}, "intervals", "must be between 5 and 1440 minutes"),
        ({"intervals": {INSTANCES: "soon"}}, "intervals", "not a whole number"),
        ({"intervals": {"aws.ec2.instance": 30}}, "intervals", "unknown testcloud resource type 'aws.ec2.instance'"),
        ({"disabled_regions": ["mars-north-1"]}, "disabled_regions", "not a region of this cloud: mars-north-1"),
        ({"disabled_regions": ["eu-west-1", "us-east-1"]}, "disabled_regions", "at least one region"),
    ],
)
def test_bad_edits_are_refused_with_the_offending_field_and_change_nothing(cloud, changes, field, problem):
    with pytest.raises(strategy.StrategyError) as refused:
        strategy.update(cloud, **changes)
    assert problem in " ".join(refused.value.fields[field])
    assert not HarvestStrategy.objects.exists()


def test_the_system_page_lists_default_intervals_overrides_and_the_metrics_export(organization, settings):
    from insightcloud.accounts.models import AccessLevel
    from insightcloud.inventory.models import CloudAccount
    from scheduler.models import HarvestStrategy
    from tests.web.conftest import gui, make_user

    cloud = CloudAccount.objects.create(organization=organization, provider="aws", name="sys", account_id="1")
    HarvestStrategy.objects.create(cloud=cloud, intervals={"aws.s3.bucket": 60})
    settings.METRICS_BACKEND, settings.METRICS_NAMESPACE = "cloudwatch", "Ops"
    page = gui(make_user("sys-admin", organization, AccessLevel.DOMAIN_ADMIN)).get("/system/").content.decode()
    assert "<td>aws.s3.bucket</td><td>storage_container</td><td>30</td><td>1</td>" in page
    assert "<td>aws.ec2.instance</td><td>instance</td><td>15</td><td>0</td>" in page
    assert 'data-provider="azure"' in page and 'data-provider="gcp"' in page
    assert "cloudwatch, namespace <code>Ops</code>" in page

"""Harvest strategies: intervals, staggering, dynamic scheduling, paused clouds, disabled regions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from harvesters.base import resource_type
from insightcloud.inventory.models import CloudAccount, CloudStatus, Resource
from insightcloud.registry import registry
from scheduler import planner
from scheduler.models import HarvestState, HarvestStrategy, Job, JobStatus
from scheduler.planner import base_interval, effective_interval, next_slot, plan_harvests
from scheduler.runner import execute
from tests.scheduler.kinds import CHAIN_HARVEST

pytestmark = pytest.mark.django_db(transaction=True)

TYPES = {
    "testcloud.compute.instance": ("instance", "regional", 15),
    "testcloud.storage.bucket": ("storage_container", "regional", 15),
    "testcloud.iam.user": ("service_user", "global", 15),
    "testcloud.account.settings": ("cloud_account", "global", 240),
}


def collect_nothing(ctx, region):  # noqa: ANN001, ANN201
    """Finds nothing (the planner never calls it)."""
    return iter(())


@pytest.fixture(autouse=True)
def testcloud_types():
    """Throw-away resource types of a "testcloud" provider, removed after the test."""
    planner._last_ensured.clear()  # cloud ids repeat between tests once tables are truncated
    with registry.unlocked():
        for native_type, (normalized, scope, minutes) in TYPES.items():
            resource_type(
                native_type,
                resource_type=normalized,
                service="x",
                scope=scope,
                interval_minutes=minutes,
                permissions=("x:List",),
            )(collect_nothing)
    yield
    for native_type in TYPES:
        registry._stores["resource_types"].pop(native_type, None)


@pytest.fixture
def cloud(organization):
    return CloudAccount.objects.create(
        organization=organization,
        provider="testcloud",
        name="prod",
        account_id="111",
        regions=["eu-west-1", "us-east-1"],
    )


def spec(native_type):
    return registry.get("resource_types", native_type)


def plan(now=None):
    return Job.objects.filter(pk__in=plan_harvests(now, harvest_kind=CHAIN_HARVEST)).order_by("dedup_key")


def run_all():
    for job in Job.objects.filter(status=JobStatus.QUEUED, kind=CHAIN_HARVEST):
        assert execute(job.pk, job.dispatch) == JobStatus.SUCCEEDED


def test_intervals_default_by_type_and_are_overridable_per_cloud(cloud):
    assert [base_interval(spec(t), None) for t in TYPES] == [15, 30, 120, 240]
    strategy = HarvestStrategy(cloud=cloud, intervals={"storage_container": 60, "testcloud.compute.instance": 5})
    assert [base_interval(spec(t), strategy) for t in TYPES] == [5, 60, 120, 240]


def test_a_new_cloud_gets_a_p2_harvest_per_region_and_type_under_a_dedup_key(cloud):
    jobs = list(plan())
    assert [job.dedup_key for job in jobs] == [
        f"harvest:cloud={cloud.pk}:region=eu-west-1:type=testcloud.compute.instance",
        f"harvest:cloud={cloud.pk}:region=eu-west-1:type=testcloud.storage.bucket",
        f"harvest:cloud={cloud.pk}:region=global:type=testcloud.account.settings",
        f"harvest:cloud={cloud.pk}:region=global:type=testcloud.iam.user",
        f"harvest:cloud={cloud.pk}:region=us-east-1:type=testcloud.compute.instance",
        f"harvest:cloud={cloud.pk}:region=us-east-1:type=testcloud.storage.bucket",
    ]
    assert {job.priority for job in jobs} == {"p2"}
    instances = ["testcloud.compute.instance"]
    assert jobs[0].arguments == {"cloud_id": cloud.pk, "regions": ["eu-west-1"], "types": instances}
    assert not plan(), "nothing more while they are queued"


def test_each_type_comes_due_again_after_its_own_interval(cloud):
    HarvestStrategy.objects.create(cloud=cloud, dynamic=False)  # nothing is found in this test
    start = timezone.now()
    plan(start)
    run_all()
    assert not plan(start + timedelta(minutes=1))
    due = {(s.region, s.native_type): s.next_due_at for s in HarvestState.objects.all()}
    for (_region, native_type), when in due.items():  # on the cloud's grid, 0.5 to 1.5 intervals on
        interval = timedelta(minutes=base_interval(spec(native_type), None))
        assert start + interval / 2 < when <= start + interval * 1.5
    at = start + timedelta(minutes=23)
    expected = sorted((region, kind) for (region, kind), when in due.items() if when <= at)
    planned = sorted((job.arguments["regions"][0], job.arguments["types"][0]) for job in plan(at))
    assert planned == expected
    instances = [("eu-west-1", "testcloud.compute.instance"), ("us-east-1", "testcloud.compute.instance")]
    assert set(instances) <= set(planned)


def test_a_type_found_empty_is_harvested_less_often_until_something_appears(cloud):
    assert [effective_interval(15, runs) for runs in (0, 1, 2, 3, 10)] == [15, 30, 60, 120, 1440]
    start = timezone.now()
    plan(start)
    run_all()
    Resource.objects.create(
        cloud=cloud,
        provider="testcloud",
        resource_type="instance",
        native_type="testcloud.compute.instance",
        region="eu-west-1",
        native_id="i-1",
        fingerprint="x",
    )
    plan(start + timedelta(seconds=1))  # accounts for the finished harvests
    states = {s.region: s for s in HarvestState.objects.filter(native_type="testcloud.compute.instance")}
    assert (states["eu-west-1"].last_count, states["eu-west-1"].empty_runs) == (1, 0)
    assert (states["us-east-1"].last_count, states["us-east-1"].empty_runs) == (0, 1)
    assert timedelta(minutes=7.5) < states["eu-west-1"].next_due_at - start <= timedelta(minutes=22.5)
    assert timedelta(minutes=15) < states["us-east-1"].next_due_at - start <= timedelta(minutes=45), "doubled"


def test_start_times_are_staggered_across_clouds():
    now = timezone.now()
    slots = {next_slot(now, 15, cloud_id) for cloud_id in range(1, 101)}
    assert len(slots) > 80, "a hundred clouds spread over the interval, not one instant"
    assert all(now < slot <= now + timedelta(minutes=15) for slot in slots)
    assert next_slot(now, 15, 7) == next_slot(now, 15, 7)


@pytest.mark.parametrize(
    "status", [CloudStatus.INVALID_CREDENTIALS, CloudStatus.ASSUME_ROLE_FAILED, CloudStatus.PAUSED, CloudStatus.CLOSED]
)
def test_a_cloud_that_cannot_or_must_not_be_harvested_is_skipped(cloud, status):
    CloudAccount.objects.filter(pk=cloud.pk).update(status=status)
    assert not plan()


def test_invalid_credentials_pause_the_clouds_harvests_until_fixed(cloud):
    HarvestStrategy.objects.create(cloud=cloud, dynamic=False)
    start = timezone.now()
    plan(start)
    refused = Job.objects.filter(kind=CHAIN_HARVEST).first()
    Job.objects.filter(pk=refused.pk).update(kind="test_refused_harvest")
    assert execute(refused.pk, refused.dispatch) == JobStatus.FAILED
    refused.refresh_from_db()
    assert refused.attempts == 1 and refused.error.startswith("InvalidCredentials")
    Job.objects.filter(status=JobStatus.QUEUED).update(status=JobStatus.SUCCEEDED, active_key=None)
    assert not plan(start + timedelta(hours=6, minutes=1)), "no harvest for a cloud whose credentials were refused"
    CloudAccount.objects.filter(pk=cloud.pk).update(status=CloudStatus.OK)
    assert len(plan(start + timedelta(hours=6, minutes=1))) == 6


def test_disabled_regions_and_disabled_strategies_are_not_harvested(cloud):
    strategy = HarvestStrategy.objects.create(cloud=cloud, disabled_regions=["us-east-1"])
    assert {job.arguments["regions"][0] for job in plan()} == {"eu-west-1", "global"}
    Job.objects.update(status=JobStatus.CANCELLED, active_key=None)
    strategy.enabled = False
    strategy.save()
    assert not plan(timezone.now() + timedelta(days=1))


def test_nothing_is_planned_without_a_harvest_job_kind(cloud, without_job_kind):
    without_job_kind("harvest")
    assert plan_harvests() == []

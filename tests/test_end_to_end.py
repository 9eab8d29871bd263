"""From a seeded AWS estate to findings: the harvest job runs, chains one evaluation, and the
deliberate misconfigurations of the demo estate are flagged while their twins pass."""

from __future__ import annotations

import pytest

from compliance.models import Finding, FindingStatus
from harvesters.aws.demo import register_cloud, seed
from scheduler.models import Job, JobStatus
from scheduler.runner import enqueue, execute
from tests.aws.conftest import moto, moto_server  # noqa: F401  (fixtures)

# execute() manages its own connection like a worker does: the test cannot wrap it in a transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_harvest_job_chains_an_evaluation_that_flags_the_demo_misconfigurations(moto):  # noqa: F811
    seed(moto)
    cloud = register_cloud(moto)
    harvest, _ = enqueue("harvest", {"cloud_id": cloud.pk, "regions": None, "types": None}, cloud_id=cloud.pk)

    assert execute(harvest.pk) == JobStatus.SUCCEEDED
    evaluation = Job.objects.get(kind="evaluate", cloud=cloud)  # enqueued by the harvest's end
    assert evaluation.priority == "p1" and evaluation.status == JobStatus.QUEUED
    assert execute(evaluation.pk) == JobStatus.SUCCEEDED

    failing = set(
        Finding.objects.filter(cloud=cloud, status=FindingStatus.OPEN).values_list("insight_id", "resource__name")
    )
    insights = {insight for insight, _ in failing}
    assert "storage-container-public" in insights
    assert any("ssh" in insight or "port" in insight for insight in insights), insights
    # Well-configured twins pass: every public-bucket finding is on the public bucket only.
    public = {name for insight, name in failing if insight == "storage-container-public"}
    assert len(public) == 1, public

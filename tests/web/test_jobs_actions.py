"""Jobs (queues, cancel) and on-demand actions from the GUI and the API."""

from __future__ import annotations

import pytest

from insightcloud.accounts.models import AuditEvent
from scheduler.models import Job, JobStatus
from scheduler.runner import enqueue
from tests.web.conftest import api, gui, make_resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def instance(estate):
    return make_resource(
        estate["prod"],
        "i-0123456789abcdef0",
        name="web-1",
        resource_type="instance",
        native_type="aws.ec2.instance",
        properties={"state": "running"},
    )


def test_a_manager_runs_an_action_from_the_api_as_a_p0_job(users, instance):
    response = api(users["org_admin"]).post(
        f"/api/v1/resources/{instance.pk}/actions/", {"action": "aws.instance.stop"}, format="json"
    )
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.kind, job.priority, job.status) == ("action", "p0", JobStatus.QUEUED)
    assert job.arguments["action"] == "aws.instance.stop" and job.requested_by == "acme-admin"
    assert AuditEvent.objects.filter(action="resource.action", actor_name="acme-admin").exists()


def test_an_action_that_does_not_apply_is_refused_with_the_field_named(users, instance):
    response = api(users["org_admin"]).post(
        f"/api/v1/resources/{instance.pk}/actions/", {"action": "aws.bucket.block_public_access"}, format="json"
    )
    assert response.status_code == 400
    assert "applies to aws.s3.bucket" in response.json()["fields"]["action"][0]
    assert not Job.objects.exists()


def test_viewers_and_outsiders_cannot_run_actions(users, instance):
    assert (
        api(users["viewer"])
        .post(f"/api/v1/resources/{instance.pk}/actions/", {"action": "aws.instance.stop"}, format="json")
        .status_code
        == 403
    )
    assert (
        api(users["outsider"])
        .post(f"/api/v1/resources/{instance.pk}/actions/", {"action": "aws.instance.stop"}, format="json")
        .status_code
        == 404
    )


def test_the_resource_page_offers_the_actions_that_apply_and_runs_them(users, instance):
    page = gui(users["org_admin"]).get(f"/resources/{instance.pk}").content.decode()
    assert "aws.instance.stop" in page and "aws.bucket.block_public_access" not in page
    assert "aws.instance.stop" not in gui(users["viewer"]).get(f"/resources/{instance.pk}").content.decode()
    gui(users["org_admin"]).post(f"/resources/{instance.pk}/action", {"action": "aws.instance.stop"})
    assert Job.objects.filter(kind="action", cloud=instance.cloud).count() == 1


def test_a_queued_job_is_cancelled_from_the_api_and_the_jobs_page(users, estate):
    job, _ = enqueue("noop", priority="p2", cloud_id=estate["prod"].pk)
    response = api(users["org_admin"]).post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"

    other, _ = enqueue("noop", priority="p2", cloud_id=estate["prod"].pk)
    assert api(users["viewer"]).post(f"/api/v1/jobs/{other.pk}/cancel/").status_code == 403
    gui(users["org_admin"]).post("/jobs/", {"cancel": other.pk})
    other.refresh_from_db()
    assert other.status == JobStatus.CANCELLED


def test_queue_diagnostics_are_for_domain_wide_users(users, estate):
    enqueue("noop", priority="p1", cloud_id=estate["prod"].pk)
    report = api(users["admin"]).get("/api/v1/queues/").json()
    assert set(report["queues"]) == {"p0", "p1", "p2"}
    assert report["queues"]["p1"]["queued_jobs"] == 1
    assert api(users["member"]).get("/api/v1/queues/").status_code == 403
    page = gui(users["admin"]).get("/jobs/").content.decode()
    assert "queues-table" in page and "High Priority" in page
    assert "queues-table" not in gui(users["member"]).get("/jobs/").content.decode()

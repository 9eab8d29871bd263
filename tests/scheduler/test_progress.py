"""A running job's progress: written throttled into its result, shown on the Jobs page."""

from __future__ import annotations

import pytest

from scheduler import runner
from scheduler.models import Job, JobStatus
from tests.web.conftest import gui, make_user

pytestmark = pytest.mark.django_db


def test_progress_is_written_at_most_once_a_second_and_always_at_the_end(monkeypatch):
    clock = iter([100.0, 100.2, 100.4, 101.5]).__next__
    monkeypatch.setattr(runner.time, "monotonic", clock)
    job = Job.objects.create(kind="harvest", priority="p2", status=JobStatus.RUNNING)
    seen = []
    for done in (1, 2, 3, 4):
        runner.report_progress(job, done, 10 if done < 4 else 4, "listings")
        seen.append(Job.objects.get(pk=job.pk).progress["done"])
    assert seen == [1, 1, 1, 4]  # 2 and 3 came within the second; the last step is always written


def test_a_finished_job_shows_no_progress_and_a_queued_one_none_yet():
    job = Job.objects.create(kind="harvest", priority="p2", status=JobStatus.RUNNING)
    runner.report_progress(job, 10, 10, "listings")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
    assert Job.objects.get(pk=job.pk).progress is None
    queued = Job.objects.create(kind="harvest", priority="p2")
    runner.report_progress(queued, 1, 10, "listings")  # only a running job's row is written
    assert Job.objects.get(pk=queued.pk).result == {}


def test_the_jobs_page_shows_a_running_jobs_progress(organization):
    from insightcloud.accounts.models import AccessLevel

    admin = make_user("progress-admin", organization, AccessLevel.DOMAIN_ADMIN)
    job = Job.objects.create(kind="harvest", priority="p2", status=JobStatus.RUNNING, organization=organization)
    runner.report_progress(job, 7, 12, "listings")
    page = gui(admin).get("/jobs/").content.decode()
    assert '<progress value="7" max="12"></progress> 7/12 listings' in page

"""The worker's lean path: the row in the message, the claim's attempt count, successes held back
and written in batches — and never lost when the process is stopped or recycled."""

from __future__ import annotations

import os
import signal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from insightcloud.inventory.models import CloudAccount
from scheduler import job_rows
from scheduler.held_success import held
from scheduler.models import Job, JobStatus
from scheduler.runner import append_log, enqueue, execute
from tests.processes import wait_for
from tests.scheduler.conftest import logs
from tests.scheduler.kinds import CHAIN_EVALUATE, CHAIN_HARVEST, journal_lines

pytestmark = pytest.mark.django_db(transaction=True)

needs_mysql = pytest.mark.skipif(connection.vendor != "mysql", reason="successes are held on MariaDB/MySQL only")


@pytest.fixture
def holding(monkeypatch):
    """This process holds successes as a worker process does, with no writer thread: only
    ``held.write_now()`` writes them."""
    monkeypatch.setattr(held, "enabled", True)
    yield held
    held._take()


def status_of(job: Job) -> str:
    return Job.objects.get(pk=job.pk).status


def test_a_first_attempt_runs_from_its_message_without_reading_the_row(holding):
    job, _ = enqueue("noop", {"n": 7})
    with CaptureQueriesContext(connection) as queries:
        assert execute(job.pk, job.dispatch, job_rows.message_row(job)) == JobStatus.SUCCEEDED
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["UPDATE"], "the claim, and nothing else"
    assert status_of(job) == JobStatus.RUNNING, "its success is held back"
    holding.write_now()
    job.refresh_from_db()
    assert (job.status, job.result, job.attempts) == (JobStatus.SUCCEEDED, {"echo": {"n": 7}}, 1)
    assert job.finished_at >= job.started_at


def test_the_job_built_from_a_message_reads_what_the_message_lacks_from_the_row():
    job, _ = enqueue("noop", {"n": 1}, requested_by="alice")
    append_log(job, "a line written while it was queued")
    assert job_rows.claim(job.pk, job.dispatch, "host:1", timezone.now()) == 1
    built = job_rows.job_from_message(job.pk, job.dispatch, job_rows.message_row(job), 1, "host:1", timezone.now())
    assert (built.kind, built.arguments, built.requested_by, built.attempts) == ("noop", {"n": 1}, "alice", 1)
    assert "while it was queued" in built.log  # deferred: loaded on use
    assert built.enqueued_at == Job.objects.get(pk=job.pk).enqueued_at


def test_the_claim_returns_the_attempt_number_or_zero_when_the_message_may_not_run_it():
    job, _ = enqueue("noop")
    now = timezone.now()
    assert job_rows.claim(job.pk, job.dispatch + 1, "host:1", now) == 0, "a newer dispatch exists"
    assert job_rows.claim(job.pk, job.dispatch, "host:1", now) == 1
    assert job_rows.claim(job.pk, job.dispatch, "host:1", now) == 0, "already running"
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, dispatch=job.dispatch + 1)
    assert job_rows.claim(job.pk, job.dispatch + 1, "host:2", now) == 2


def test_a_retried_job_loads_its_row_and_a_message_without_one_still_runs(holding):
    retried, _ = enqueue("noop", {"n": 1})
    Job.objects.filter(pk=retried.pk).update(attempts=1, error="worker lost", log="09:00:00 lost\n")
    with CaptureQueriesContext(connection) as queries:
        execute(retried.pk, retried.dispatch, job_rows.message_row(retried))
    assert any(q["sql"].startswith("SELECT") for q in queries.captured_queries), "a re-run reads its row"
    older, _ = enqueue("noop", {"n": 2})
    assert execute(older.pk, older.dispatch) == JobStatus.SUCCEEDED  # a message from before this change
    holding.write_now()
    retried.refresh_from_db()
    assert (retried.status, retried.attempts, retried.error) == (JobStatus.SUCCEEDED, 2, "")
    assert "attempt 2" in retried.log
    assert status_of(older) == JobStatus.SUCCEEDED


@pytest.mark.parametrize(
    "options",
    [{"dedup_key": "noop:key"}, {"priority": "p0"}],  # the key must be free at once; a person is watching
    ids=["dedup-key", "p0"],
)
def test_a_success_something_waits_on_is_recorded_at_once(holding, options):
    job, _ = enqueue("noop", **options)
    execute(job.pk, job.dispatch, job_rows.message_row(job))
    assert status_of(job) == JobStatus.SUCCEEDED


def test_a_success_with_a_follow_up_is_recorded_before_the_follow_up_is_chained(holding, organization):
    cloud = CloudAccount.objects.create(organization=organization, provider="aws", name="prod", account_id="1")
    harvest, _ = enqueue(CHAIN_HARVEST, {"cloud_id": cloud.pk}, cloud_id=cloud.pk)
    execute(harvest.pk, harvest.dispatch, job_rows.message_row(harvest))
    assert status_of(harvest) == JobStatus.SUCCEEDED
    assert Job.objects.filter(kind=CHAIN_EVALUATE, cloud_id=cloud.pk).count() == 1


def test_a_batch_of_successes_writes_only_the_runs_still_ours_and_honours_a_cancel():
    jobs = [enqueue("noop", {"n": n})[0] for n in range(3)]
    now = timezone.now()
    for job in jobs:
        job_rows.claim(job.pk, job.dispatch, "host:1", now)
    Job.objects.filter(pk=jobs[1].pk).update(dispatch=jobs[1].dispatch + 1)  # the reaper gave it to another run
    Job.objects.filter(pk=jobs[2].pk).update(cancel_requested=True)
    batch = [job_rows.Success(job.pk, job.dispatch, now, {"n": n}) for n, job in enumerate(jobs)]
    assert job_rows.record_successes(batch) == 2
    rows = {job.pk: job for job in Job.objects.filter(pk__in=[j.pk for j in jobs])}
    assert (rows[jobs[0].pk].status, rows[jobs[0].pk].result) == (JobStatus.SUCCEEDED, {"n": 0})
    assert rows[jobs[1].pk].status == JobStatus.RUNNING, "not ours any more: left alone"
    assert rows[jobs[2].pk].status == JobStatus.CANCELLED


@needs_mysql
@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM to every process", "warm shutdown"])
def test_successes_a_worker_holds_are_written_when_it_stops(redis_client, processes, tmp_path, how):
    journal = tmp_path / "journal"
    worker = processes("worker", "worker", "--concurrency", "1", TEST_HOLD_SECONDS="600")
    jobs = [enqueue("test_effect", {"journal": str(journal)})[0] for _ in range(3)]
    wait_for(lambda: len(journal_lines(journal)) == 6, timeout=60, what="three jobs to run, " + logs(tmp_path))
    assert {status_of(job) for job in jobs} == {JobStatus.RUNNING}, "their successes are held back"
    if how == "warm shutdown":
        os.kill(worker.pid, signal.SIGTERM)  # Celery's warm shutdown: its processes exit on their own
    else:
        os.killpg(worker.pid, signal.SIGTERM)  # systemd's default: every process of the unit at once
    worker.wait(timeout=30)
    assert {status_of(job) for job in jobs} == {JobStatus.SUCCEEDED}, logs(tmp_path)


@needs_mysql
@pytest.mark.slow
def test_a_busy_worker_records_every_held_success_with_its_result(redis_client, processes, tmp_path):
    jobs = [enqueue("noop", {"n": n})[0] for n in range(40)]
    processes("worker", "worker", "--concurrency", "2")
    wait_for(lambda: all(status_of(job) == JobStatus.SUCCEEDED for job in jobs), timeout=60, what="forty jobs")
    rows = Job.objects.filter(pk__in=[job.pk for job in jobs])
    assert {row.result["echo"]["n"] for row in rows} == set(range(40))
    assert all(row.finished_at >= row.started_at for row in rows)

"""The worker's lean path: the row in the message, the claim's attempt count, first attempts that
start without a claim, starts and successes held back and written in batches — and never lost when
the process is stopped, recycled or killed, nor run after a cancel."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from insightcloud.inventory.models import CloudAccount
from scheduler import job_rows, retired_dispatches
from scheduler.held_writes import HeldWrites, held
from scheduler.models import Job, JobStatus
from scheduler.retired_dispatches import RetiredWatch, watch
from scheduler.runner import _JobHeartbeats, append_log, cancel, enqueue, execute, worker_name
from tests.processes import wait_for
from tests.scheduler.conftest import logs
from tests.scheduler.kinds import CHAIN_EVALUATE, CHAIN_HARVEST, journal_lines

pytestmark = pytest.mark.django_db(transaction=True)

needs_mysql = pytest.mark.skipif(connection.vendor != "mysql", reason="writes are held on MariaDB/MySQL only")


@pytest.fixture
def holding(monkeypatch, redis_client):
    """This process holds writes as a worker process does, with no writer thread: only
    ``held.write_now()`` (or a write that needs the start first) writes them; and it follows the
    retired dispatches. Redis and the watch's copy are emptied: job ids start again in every test."""
    monkeypatch.setattr(held, "enabled", True)
    watch.start()
    assert watch.wait_connected(10), "the retired-dispatch feed"
    watch._retired.clear()
    yield held
    held._starts.clear()
    held._successes.clear()


def status_of(job: Job) -> str:
    return Job.objects.get(pk=job.pk).status


def test_a_first_attempt_starts_from_its_message_without_a_query_and_is_written_in_one_step(holding):
    job, _ = enqueue("noop", {"n": 7})
    with CaptureQueriesContext(connection) as queries:
        assert execute(job.pk, job.dispatch, job_rows.message_row(job)) == JobStatus.SUCCEEDED
    assert queries.captured_queries == [], "no claim, no read: its start and success are held back"
    assert status_of(job) == JobStatus.QUEUED
    holding.write_now()
    job.refresh_from_db()
    assert (job.status, job.result, job.attempts) == (JobStatus.SUCCEEDED, {"echo": {"n": 7}}, 1)
    assert job.worker == worker_name()
    assert job.enqueued_at <= job.started_at <= job.finished_at


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
    retried.refresh_from_db()  # as the reaper does before it sends the job again
    with CaptureQueriesContext(connection) as queries:
        execute(retried.pk, retried.dispatch, job_rows.message_row(retried))
    assert [q["sql"].split()[0] for q in queries.captured_queries][:2] == ["UPDATE", "SELECT"], "claim, then read"
    older, _ = enqueue("noop", {"n": 2})
    assert execute(older.pk, older.dispatch) == JobStatus.SUCCEEDED  # a message from before this change
    holding.write_now()
    retried.refresh_from_db()
    assert (retried.status, retried.attempts, retried.error) == (JobStatus.SUCCEEDED, 2, "")
    assert "attempt 2" in retried.log
    assert status_of(older) == JobStatus.SUCCEEDED


def test_a_redelivered_message_claims_the_row_first(holding, tmp_path):
    journal = tmp_path / "journal"
    job, _ = enqueue("test_effect", {"journal": str(journal)})
    message = job_rows.message_row(job)
    with CaptureQueriesContext(connection) as queries:
        execute(job.pk, job.dispatch, message, redelivered=True)  # its first worker died before writing anything
    assert queries.captured_queries[0]["sql"].startswith("UPDATE"), "the claim"
    assert execute(job.pk, job.dispatch, message, redelivered=True) == "skipped", "now the row is running"
    holding.write_now()
    assert status_of(job) == JobStatus.SUCCEEDED
    assert [line.split()[0] for line in journal_lines(journal)] == ["start", "effect"]


def test_a_job_cancelled_while_queued_never_starts_from_its_message(holding, tmp_path):
    journal = tmp_path / "journal"
    job, _ = enqueue("test_effect", {"journal": str(journal)})
    message = job_rows.message_row(job)
    assert cancel(job.pk, by="alice") == "cancelled"
    wait_for(lambda: watch.knows(job.pk, job.dispatch), timeout=5, what="the published retirement")
    with CaptureQueriesContext(connection) as queries:
        assert execute(job.pk, job.dispatch, message) == "skipped"
    assert queries.captured_queries[0]["sql"].startswith("UPDATE"), "a retired message claims the row, and fails"
    holding.write_now()
    assert journal_lines(journal) == []
    assert status_of(job) == JobStatus.CANCELLED


def test_a_retired_mark_whose_row_is_still_queued_costs_a_claim_not_the_job(holding):
    job, _ = enqueue("noop")
    retired_dispatches.retire(job.pk, job.dispatch)  # e.g. left from a Job table restored from a backup
    wait_for(lambda: watch.knows(job.pk, job.dispatch), timeout=5, what="the published retirement")
    with CaptureQueriesContext(connection) as queries:
        assert execute(job.pk, job.dispatch, job_rows.message_row(job)) == JobStatus.SUCCEEDED
    assert queries.captured_queries[0]["sql"].startswith("UPDATE"), "the claim"
    holding.write_now()
    assert status_of(job) == JobStatus.SUCCEEDED


def test_a_process_that_starts_following_late_knows_what_was_retired_before(redis_client):
    retired_dispatches.retire(41, 2)
    later = RetiredWatch()
    later.start()
    assert later.wait_connected(10)
    assert (later.may_start(41, 2), later.may_start(41, 3)) == (False, True)


def test_without_the_feed_or_for_an_old_message_a_first_attempt_claims_its_row(holding, monkeypatch):
    old, _ = enqueue("noop")
    message = {**job_rows.message_row(old), "sent_at": time.time() - retired_dispatches.RETIRED_SECONDS}
    with CaptureQueriesContext(connection) as queries:
        execute(old.pk, old.dispatch, message)
    assert queries.captured_queries[0]["sql"].startswith("UPDATE"), "older than any retired mark kept: claim"
    monkeypatch.setattr(watch, "_connected", False)  # Redis away, or the process just started
    job, _ = enqueue("noop")
    with CaptureQueriesContext(connection) as queries:
        execute(job.pk, job.dispatch, job_rows.message_row(job))
    assert queries.captured_queries[0]["sql"].startswith("UPDATE"), "the claim"
    holding.write_now()
    assert {status_of(old), status_of(job)} == {JobStatus.SUCCEEDED}


def test_a_late_started_job_that_fails_records_its_start_then_its_failure(holding):
    job, _ = enqueue("test_fails")  # p1, no dedup key: it starts late
    assert execute(job.pk, job.dispatch, job_rows.message_row(job)) == JobStatus.FAILED
    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == (JobStatus.FAILED, 1, worker_name())
    assert "ValueError: a bug" in job.error and job.started_at <= job.finished_at


def test_a_late_start_the_row_no_longer_allows_stops_the_job_and_leaves_the_row_alone(holding):
    job, _ = enqueue("noop")
    built = job_rows.job_from_message(job.pk, job.dispatch, job_rows.message_row(job), 1, "host:1", timezone.now())
    holding.hold_start(built)
    Job.objects.filter(pk=job.pk).update(dispatch=job.dispatch + 1)  # re-sent meanwhile (the broker lost it)
    assert holding.write_start_now(built) is False
    assert (built.cancel_requested, built.lost_lease, built.start_pending) == (True, True, False)
    holding.hold(job_rows.Success(job.pk, job.dispatch, timezone.now(), {}))
    holding.write_now()
    job.refresh_from_db()
    assert (job.status, job.attempts, job.started_at) == (JobStatus.QUEUED, 0, None)


@pytest.mark.parametrize("ends", ["after its start is written", "before its start is written"])
def test_a_job_cancelled_while_its_late_start_is_held_ends_cancelled_with_what_it_did(holding, ends):
    job, _ = enqueue("noop")
    built = job_rows.job_from_message(job.pk, job.dispatch, job_rows.message_row(job), 1, "host:1", timezone.now())
    holding.hold_start(built)
    assert cancel(job.pk, by="alice") == "cancelled", "the row still said queued"
    if ends == "after its start is written":
        assert holding.write_start_now(built) is True, "the job is still ours: it stops at its next check"
        job.refresh_from_db()
        assert (job.status, job.cancel_requested, job.finished_at) == (JobStatus.RUNNING, True, None)
    holding.hold(job_rows.Success(job.pk, job.dispatch, timezone.now(), {"stopped": True}))
    holding.write_now()
    job.refresh_from_db()
    assert (job.status, job.result, job.attempts, job.worker) == (JobStatus.CANCELLED, {"stopped": True}, 1, "host:1")
    assert job.started_at <= job.finished_at


def test_the_writer_thread_records_a_long_job_as_running_and_then_its_end():
    writes = HeldWrites()
    writes.enable()
    if not writes.enabled:
        pytest.skip("writes are held on MariaDB/MySQL only")
    jobs = [enqueue("noop", {"n": n})[0] for n in range(2)]
    now = timezone.now()
    built = [
        job_rows.job_from_message(job.pk, job.dispatch, job_rows.message_row(job), 1, "host:1", now) for job in jobs
    ]
    for job in built:
        writes.hold_start(job)
    writes.hold(job_rows.Success(jobs[1].pk, jobs[1].dispatch, timezone.now(), {"quick": True}))
    wait_for(lambda: status_of(jobs[0]) == JobStatus.RUNNING, timeout=5, what="the long job's start")
    assert not built[0].start_pending
    running = Job.objects.get(pk=jobs[0].pk)
    assert (running.worker, running.attempts, running.heartbeat_at is not None) == ("host:1", 1, True)
    wait_for(lambda: status_of(jobs[1]) == JobStatus.SUCCEEDED, timeout=5, what="the quick job's one write")
    writes.hold(job_rows.Success(jobs[0].pk, jobs[0].dispatch, timezone.now(), {"long": True}))
    wait_for(lambda: status_of(jobs[0]) == JobStatus.SUCCEEDED, timeout=5, what="the long job's end")
    assert Job.objects.get(pk=jobs[0].pk).result == {"long": True}


def test_a_batch_the_database_refused_is_written_again_and_nothing_is_lost(monkeypatch):
    writes = HeldWrites()
    writes.enable()
    if not writes.enabled:
        pytest.skip("writes are held on MariaDB/MySQL only")
    record_successes, refusals = job_rows.record_successes, []

    def refuse_once(successes, db=None):  # noqa: ANN001, ANN202
        if not refusals:
            refusals.append(len(successes))
            raise OperationalError(2013, "Lost connection to server during query")
        return record_successes(successes, db)

    monkeypatch.setattr(job_rows, "record_successes", refuse_once)
    long, quick = (enqueue("noop", {"n": n})[0] for n in range(2))
    built = {
        job.pk: job_rows.job_from_message(job.pk, job.dispatch, job_rows.message_row(job), 1, "host:1", timezone.now())
        for job in (long, quick)
    }
    writes.hold_start(built[long.pk])
    writes.hold_start(built[quick.pk])
    writes.hold(job_rows.Success(quick.pk, quick.dispatch, timezone.now(), {}))  # one batch: a start, a success
    wait_for(lambda: status_of(quick) == JobStatus.SUCCEEDED, timeout=10, what="the second try")
    assert refusals == [1]
    assert status_of(long) == JobStatus.RUNNING, "its start was written"
    assert not getattr(built[long.pk], "lost_lease", False), "and the job is still ours"


def test_the_heartbeat_leaves_a_job_whose_start_is_not_written_yet_alone():
    job, _ = enqueue("noop")
    built = job_rows.job_from_message(job.pk, job.dispatch, job_rows.message_row(job), 1, "host:1", timezone.now())
    built.start_pending, built.lost_lease = True, False
    _JobHeartbeats.beat(built)
    assert not built.lost_lease, "a beat on a row still queued would have taken the job away"


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
    # (queued: started without a claim, start held; running: claimed, before the process followed Redis)
    assert {status_of(job) for job in jobs} <= {JobStatus.QUEUED, JobStatus.RUNNING}, "their successes are held"
    if how == "warm shutdown":
        os.kill(worker.pid, signal.SIGTERM)  # Celery's warm shutdown: its processes exit on their own
    else:
        os.killpg(worker.pid, signal.SIGTERM)  # systemd's default: every process of the unit at once
    worker.wait(timeout=30)
    assert {status_of(job) for job in jobs} == {JobStatus.SUCCEEDED}, logs(tmp_path)


@needs_mysql
@pytest.mark.slow
def test_a_busy_worker_records_every_held_write_with_its_result(redis_client, processes, tmp_path):
    jobs = [enqueue("noop", {"n": n})[0] for n in range(40)]
    processes("worker", "worker", "--concurrency", "2")
    wait_for(lambda: all(status_of(job) == JobStatus.SUCCEEDED for job in jobs), timeout=60, what="forty jobs")
    rows = Job.objects.filter(pk__in=[job.pk for job in jobs])
    assert {row.result["echo"]["n"] for row in rows} == set(range(40))
    assert all(row.finished_at >= row.started_at for row in rows)


@needs_mysql
@pytest.mark.slow
def test_a_job_whose_worker_process_is_killed_before_its_start_is_written_runs_again_once(
    redis_client, processes, tmp_path
):
    journal = tmp_path / "journal"
    worker = processes("worker", "worker", "--concurrency", "1", TEST_HOLD_SECONDS="600")
    warm_up, _ = enqueue("test_urgent", {"journal": str(tmp_path / "warm-up")})  # p0: recorded at once
    wait_for(lambda: status_of(warm_up) == JobStatus.SUCCEEDED, timeout=60, what="the worker, " + logs(tmp_path))
    time.sleep(0.5)  # its process follows the retired dispatches by now: the next job starts without a claim
    job, _ = enqueue("test_effect", {"journal": str(journal), "seconds": 3})
    wait_for(lambda: journal_lines(journal), timeout=60, what="the job to start, " + logs(tmp_path))
    assert status_of(job) == JobStatus.QUEUED, "its start is held"
    os.kill(int(journal_lines(journal)[0].split()[2]), signal.SIGKILL)
    # Celery gives the message back, marked redelivered: the next process claims the row and runs it.
    wait_for(lambda: len(journal_lines(journal)) == 3, timeout=60, what="the second run, " + logs(tmp_path))
    assert status_of(job) == JobStatus.RUNNING, "claimed (its success is held)"
    os.kill(worker.pid, signal.SIGTERM)
    worker.wait(timeout=30)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, logs(tmp_path)
    assert [line.split()[0] for line in journal_lines(journal)] == ["start", "start", "effect"]


def test_a_first_attempt_a_dead_worker_took_without_recording_its_start_is_sent_again(redis_client, settings):
    from insightcloud.celery import app
    from scheduler.reaper import recover_unrecorded_starts

    orphan, _ = enqueue("noop", {"n": 1})
    claimed, _ = enqueue("noop", {"n": 2})
    with app.connection_for_read() as broker:
        taken = broker.SimpleQueue("p2")
        first, second = taken.get(timeout=5), taken.get(timeout=5)  # taken, never acknowledged: the worker died
        assert (first.payload[0][0], second.payload[0][0]) == (orphan.pk, claimed.pk)
        job_rows.claim(claimed.pk, claimed.dispatch, "host:1", timezone.now())  # a run that did record its start
        now = timezone.now()
        assert recover_unrecorded_starts(now) == [], "a live worker may still be about to record it"
        later = now + timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
        assert recover_unrecorded_starts(later) == [(orphan.pk, "requeued")]
        orphan.refresh_from_db()
        assert (orphan.status, orphan.dispatch, orphan.attempts) == (JobStatus.QUEUED, 2, 1)
        assert "worker lost before it recorded the start" in orphan.log
        resent = taken.get(timeout=5)
        assert resent.payload[0] == [orphan.pk, 2] and resent.payload[1]["row"]["attempts"] == 1
        assert recover_unrecorded_starts(later) == [], "done once"
        taken.close()
    assert status_of(claimed) == JobStatus.RUNNING

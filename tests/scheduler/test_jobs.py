"""Jobs: dedup, claims, retries, cancel, the reaper and the follow-up chain, run in this process."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from scheduler.models import Job, JobStatus
from scheduler.reaper import reap_stale_jobs, resend_lost_messages
from scheduler.runner import append_log, cancel, enqueue, enqueue_follow_up, execute
from tests.scheduler.kinds import CHAIN_EVALUATE, CHAIN_HARVEST, journal_lines

KEY = "harvest:cloud=7:region=eu-west-1:type=aws.s3.bucket"

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_job_queued_under_a_dedup_key_is_not_enqueued_twice():
    first, created = enqueue("noop", dedup_key=KEY)
    again, created_again = enqueue("noop", dedup_key=KEY)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Job.objects.filter(dedup_key=KEY).count() == 1


def test_a_finished_job_frees_its_dedup_key():
    first, _ = enqueue("noop", dedup_key=KEY)
    assert execute(first.pk, first.dispatch) == JobStatus.SUCCEEDED
    second, created = enqueue("noop", dedup_key=KEY)
    assert created and second.pk != first.pk


def test_concurrent_enqueues_under_one_key_make_one_job():
    results = []

    def enqueue_from_a_thread() -> None:
        try:
            results.append(enqueue("noop", dedup_key=KEY))
        finally:
            connection.close()

    threads = [threading.Thread(target=enqueue_from_a_thread) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert sum(created for _, created in results) == 1
    assert len({job.pk for job, _ in results}) == 1
    assert Job.objects.filter(dedup_key=KEY).count() == 1


def test_asking_for_a_queued_job_at_a_higher_priority_moves_it_and_stales_the_old_message():
    scheduled, _ = enqueue("noop", priority="p2", dedup_key=KEY)
    urgent, created = enqueue("noop", priority="p0", dedup_key=KEY)
    assert not created and urgent.pk == scheduled.pk
    assert (urgent.priority, urgent.dispatch) == ("p0", 2)
    assert execute(scheduled.pk, dispatch=1) == "skipped"  # the p2 message arrives late: ignored
    assert execute(urgent.pk, dispatch=2) == JobStatus.SUCCEEDED


def test_a_redelivered_message_never_runs_a_job_twice(tmp_path):
    job, _ = enqueue("test_effect", {"journal": str(tmp_path / "journal")})
    assert execute(job.pk, job.dispatch) == JobStatus.SUCCEEDED
    assert execute(job.pk, job.dispatch) == "skipped"
    assert [line.split()[0] for line in journal_lines(tmp_path / "journal")] == ["start", "effect"]


def test_a_transient_error_is_retried_with_backoff_then_succeeds(tmp_path, fast_jobs):
    job, _ = enqueue("test_effect", {"journal": str(tmp_path / "journal"), "fail_first": 1})
    assert execute(job.pk, 1) == JobStatus.QUEUED
    job.refresh_from_db()
    assert (job.status, job.attempts, job.dispatch) == (JobStatus.QUEUED, 1, 2)
    assert "TransientError: throttled" in job.error and "retry in" in job.log
    assert execute(job.pk, 2) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.attempts == 2 and job.active_key is None


def test_a_transient_error_fails_the_job_once_attempts_run_out(fast_jobs):
    fast_jobs.JOB_MAX_ATTEMPTS = 2
    job, _ = enqueue("test_fails", {"transient": True})
    assert execute(job.pk, 1) == JobStatus.QUEUED
    assert execute(job.pk, 2) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.error == "TransientError: Throttling: Rate exceeded (after 2 attempts)"


@pytest.mark.parametrize(
    ("arguments", "error"),
    [({}, "ValueError: a bug"), ({"credentials": True}, "InvalidCredentials: AWS refused the credentials")],
)
def test_a_permanent_error_fails_the_job_without_retry(arguments, error):
    job, _ = enqueue("test_fails", arguments)
    assert execute(job.pk, 1) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.error.startswith(error)
    assert job.attempts == 1 and job.active_key is None


def test_cancelling_a_queued_job_means_it_never_runs(tmp_path):
    job, _ = enqueue("test_effect", {"journal": str(tmp_path / "journal")}, dedup_key=KEY)
    assert cancel(job.pk, by="alice") == "cancelled"
    assert execute(job.pk, job.dispatch) == "skipped"
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.error == "cancelled by alice"
    assert journal_lines(tmp_path / "journal") == []
    assert enqueue("noop", dedup_key=KEY)[1]  # the key is free again


def test_cancelling_a_running_job_stops_it_at_its_next_check(tmp_path, fast_jobs):
    journal = tmp_path / "journal"
    job, _ = enqueue("test_effect", {"journal": str(journal), "seconds": 30})
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(status=execute(job.pk, 1)) or connection.close())
    runner.start()
    try:
        deadline = timezone.now() + timedelta(seconds=10)
        while not journal_lines(journal) and timezone.now() < deadline:
            threading.Event().wait(0.05)
        assert cancel(job.pk, by="bob") == "cancelling"
    finally:
        runner.join(timeout=15)
    job.refresh_from_db()
    assert outcome["status"] == JobStatus.CANCELLED == job.status
    assert job.result == {"stopped": True}  # what it did before stopping is kept
    assert [line.split()[0] for line in journal_lines(journal)] == ["start", "stopped"]


def _running(job: Job, silent_for: int, attempts: int = 1) -> Job:
    past = timezone.now() - timedelta(seconds=silent_for)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=past, heartbeat_at=past, worker="gone:1", attempts=attempts
    )
    job.refresh_from_db()
    return job


def test_the_reaper_requeues_a_job_whose_worker_stopped_beating(fast_jobs):
    job = _running(enqueue("noop")[0], silent_for=30)
    fresh = _running(enqueue("noop")[0], silent_for=0)
    assert reap_stale_jobs() == [(job.pk, "requeued")]
    job.refresh_from_db()
    assert (job.status, job.dispatch) == (JobStatus.QUEUED, 2)
    assert "worker gone:1 lost" in job.error
    assert execute(job.pk, 1) == "skipped"  # the dead worker's message, redelivered: ignored
    assert execute(job.pk, 2) == JobStatus.SUCCEEDED
    fresh.refresh_from_db()
    assert fresh.status == JobStatus.RUNNING


def test_the_reaper_fails_a_job_out_of_attempts_with_the_reason(fast_jobs):
    job = _running(enqueue("noop", dedup_key=KEY)[0], silent_for=30, attempts=3)
    assert reap_stale_jobs() == [(job.pk, "failed")]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.active_key is None
    assert job.error.startswith("worker gone:1 lost: no heartbeat since") and "gave up after 3 attempts" in job.error


def test_queued_jobs_whose_messages_redis_lost_are_sent_again(redis_client):
    job, _ = enqueue("noop", dedup_key=KEY)
    assert resend_lost_messages(grace_seconds=0) == [], "its message is still in the queue"
    redis_client.delete("p2")  # Redis restarted without its data
    Job.objects.filter(pk=job.pk).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    assert resend_lost_messages() == [job.pk]
    assert redis_client.llen("p2") == 1
    job.refresh_from_db()
    assert execute(job.pk, 1) == "skipped" and execute(job.pk, 2) == JobStatus.SUCCEEDED


def test_the_job_log_is_bounded_and_keeps_the_newest_lines():
    job, _ = enqueue("noop")
    for n in range(3000):
        append_log(job, f"line {n:05d} " + "x" * 20)
    job.refresh_from_db()
    assert len(job.log) <= 20_000
    assert job.log.startswith("…\n") and "line 02999" in job.log and "line 00000" not in job.log


def test_a_clouds_finished_harvests_chain_into_one_evaluation(organization):
    from insightcloud.inventory.models import CloudAccount

    cloud = CloudAccount.objects.create(organization=organization, provider="aws", name="prod", account_id="1")
    harvests = [
        enqueue(CHAIN_HARVEST, {"cloud_id": cloud.pk, "regions": [r]}, cloud_id=cloud.pk)[0]
        for r in ("eu-west-1", "us-east-1", "ap-south-1")
    ]
    for harvest in harvests:
        assert execute(harvest.pk, 1) == JobStatus.SUCCEEDED
    evaluations = Job.objects.filter(kind=CHAIN_EVALUATE, cloud=cloud)
    assert evaluations.count() == 1
    evaluation = evaluations.get()
    assert (evaluation.priority, evaluation.arguments) == ("p1", {"cloud_id": cloud.pk, "full": False})
    assert evaluation.dedup_key == f"{CHAIN_EVALUATE}:cloud={cloud.pk}"
    assert enqueue_follow_up(harvests[0]).pk == evaluation.pk  # a late finisher coalesces into it


def test_no_evaluation_is_chained_while_another_harvest_of_the_cloud_is_active(organization):
    from insightcloud.inventory.models import CloudAccount

    cloud = CloudAccount.objects.create(organization=organization, provider="aws", name="prod", account_id="1")
    done, _ = enqueue(CHAIN_HARVEST, {"cloud_id": cloud.pk}, cloud_id=cloud.pk)
    enqueue(CHAIN_HARVEST, {"cloud_id": cloud.pk, "regions": ["x"]}, cloud_id=cloud.pk)
    assert execute(done.pk, 1) == JobStatus.SUCCEEDED
    assert not Job.objects.filter(kind=CHAIN_EVALUATE).exists()


def test_the_harvest_to_evaluate_chain_skips_when_evaluate_is_not_registered(organization, without_job_kind):
    without_job_kind("evaluate")
    job = Job(kind="harvest", cloud_id=None, arguments={"cloud_id": 12345})
    assert enqueue_follow_up(job) is None


def test_a_worker_whose_database_connection_was_killed_reconnects_and_runs_the_job():
    if connection.vendor != "mysql":
        pytest.skip("kills a MySQL/MariaDB connection")
    first, _ = enqueue("noop")
    assert execute(first.pk, 1) == JobStatus.SUCCEEDED  # a job just ran: the next one skips the ping
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        (connection_id,) = cursor.fetchone()
    second, _ = enqueue("noop")

    def kill() -> None:
        from django.db import connections

        with connections["default"].cursor() as other:
            other.execute(f"KILL {int(connection_id)}")
        connections["default"].close()

    killer = threading.Thread(target=kill)
    killer.start()
    killer.join()
    assert execute(second.pk, 1) == JobStatus.SUCCEEDED


def test_a_job_that_lost_the_database_connection_is_recorded_failed_and_the_next_job_runs():
    if connection.vendor != "mysql":
        pytest.skip("kills a MySQL/MariaDB connection")
    broken, _ = enqueue("test_loses_its_connection")
    assert execute(broken.pk, 1) == JobStatus.FAILED  # the worker reconnected to record it
    broken.refresh_from_db()
    assert broken.status == JobStatus.FAILED and "OperationalError" in broken.error
    after, _ = enqueue("noop")
    assert execute(after.pk, 1) == JobStatus.SUCCEEDED

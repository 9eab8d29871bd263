"""Real worker and scheduler processes: priority, a dedicated p0 worker, kill -9, take-over, cancel, chain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import call_command

from insightcloud.inventory.models import CloudAccount
from scheduler.leader import current_leader
from scheduler.models import Job, JobStatus
from scheduler.runner import enqueue
from tests.processes import ROOT, free_port, process_env, stop, wait_for
from tests.scheduler.conftest import FAST, logs
from tests.scheduler.kinds import CHAIN_EVALUATE, CHAIN_HARVEST, journal_lines

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def status_of(job: Job) -> str:
    return Job.objects.get(pk=job.pk).status


def is_(job: Job, status: str):
    return lambda: status_of(job) == status


def test_the_p0_job_runs_before_the_p2_job_that_was_waiting_first(redis_client, processes, tmp_path):
    journal = tmp_path / "journal"
    waiting, _ = enqueue("test_effect", {"journal": str(journal)}, priority="p2")
    urgent, _ = enqueue("test_urgent", {"journal": str(journal)})
    processes("worker", "worker", "--concurrency", "1")
    wait_for(is_(waiting, JobStatus.SUCCEEDED), timeout=60, what="both jobs")
    assert journal_lines(journal)[0] == f"urgent {urgent.pk}", logs(tmp_path)


def test_a_p0_job_starts_at_once_while_every_general_worker_is_busy(redis_client, processes, tmp_path):
    journal = tmp_path / "journal"
    processes("worker", "worker", "--concurrency", "1")
    processes("worker-p0", "worker", "--queues", "p0", "--concurrency", "1")
    long, _ = enqueue("test_effect", {"journal": str(journal), "seconds": 25})
    wait_for(is_(long, JobStatus.RUNNING), timeout=60, what="the long p2 job to start")
    urgent, _ = enqueue("test_urgent", {"journal": str(journal)})
    wait_for(is_(urgent, JobStatus.SUCCEEDED), timeout=20, what="the p0 job, " + logs(tmp_path))
    urgent.refresh_from_db()
    assert status_of(long) == JobStatus.RUNNING, "the general worker is still busy"
    assert urgent.wait_seconds < 5


def test_a_job_whose_worker_is_killed_runs_again_elsewhere_and_its_effect_is_not_doubled(
    redis_client, processes, tmp_path
):
    journal = tmp_path / "journal"
    processes("scheduler", "scheduler")
    doomed = processes("worker-a", "worker", "--concurrency", "1")
    job, _ = enqueue("test_effect", {"journal": str(journal), "seconds": 4})
    wait_for(lambda: journal_lines(journal), timeout=60, what="the job to start")
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait()
    processes("worker-b", "worker", "--concurrency", "1")
    wait_for(is_(job, JobStatus.SUCCEEDED), timeout=90, what="the job to run again, " + logs(tmp_path))
    job.refresh_from_db()
    lines = [line.split() for line in journal_lines(journal)]
    assert [line[0] for line in lines] == ["start", "start", "effect"]
    assert lines[0][2] != lines[1][2], "the second run is in another process"
    # Killed at once, the first run had not recorded its start yet: "worker lost before it recorded
    # the start of this run"; killed later, its heartbeat stopped: "lost: no heartbeat since …".
    assert job.attempts == 2 and "lost" in job.log


def test_a_standby_scheduler_takes_over_within_30_seconds_when_the_active_one_dies(processes, tmp_path):
    first = processes("scheduler-a", "scheduler", "--name", "scheduler-a")
    wait_for(lambda: current_leader() == "scheduler-a", timeout=60, what="scheduler-a to lead, " + logs(tmp_path))
    processes("scheduler-b", "scheduler", "--name", "scheduler-b")
    time.sleep(3)
    assert current_leader() == "scheduler-a", "the standby does not take the lock from a live leader"
    os.killpg(first.pid, signal.SIGKILL)
    died = time.monotonic()
    wait_for(lambda: current_leader() == "scheduler-b", timeout=30, what="scheduler-b to take over, " + logs(tmp_path))
    assert time.monotonic() - died < 30


def test_a_running_job_cancelled_from_the_command_line_stops_and_keeps_what_it_did(redis_client, processes, tmp_path):
    journal = tmp_path / "journal"
    processes("worker", "worker", "--concurrency", "1")
    job, _ = enqueue("test_effect", {"journal": str(journal), "seconds": 60})
    wait_for(lambda: journal_lines(journal), timeout=60, what="the job to start")
    call_command("jobs", "cancel", str(job.pk))

    # A cancel that lands before the worker wrote the job's start (held up to 50 ms, scheduler.held_writes)
    # shows the row cancelled at once; the run's end, with its result, follows when the job stops.
    def ended_with_its_result() -> bool:
        row = Job.objects.get(pk=job.pk)
        return row.status == JobStatus.CANCELLED and row.result != {}

    wait_for(ended_with_its_result, timeout=15, what="the job to stop, " + logs(tmp_path))
    job.refresh_from_db()
    assert job.result == {"stopped": True}
    assert [line.split()[0] for line in journal_lines(journal)] == ["start", "stopped"]


def test_a_clouds_harvests_end_in_one_coalesced_evaluation(redis_client, processes, organization, tmp_path):
    cloud = CloudAccount.objects.create(organization=organization, provider="aws", name="prod", account_id="1")
    harvests = [
        enqueue(CHAIN_HARVEST, {"cloud_id": cloud.pk, "regions": [region], "seconds": 1}, cloud_id=cloud.pk)[0]
        for region in ("eu-west-1", "us-east-1", "eu-central-1", "ap-south-1")
    ]
    processes("worker", "worker", "--concurrency", "2")
    evaluation = wait_for(
        lambda: Job.objects.filter(kind=CHAIN_EVALUATE, status=JobStatus.SUCCEEDED).first(),
        timeout=60,
        what="the evaluation, " + logs(tmp_path),
    )
    assert all(status_of(h) == JobStatus.SUCCEEDED for h in harvests)
    time.sleep(1)
    assert Job.objects.filter(kind=CHAIN_EVALUATE).count() == 1
    assert evaluation.started_at >= max(Job.objects.get(pk=h.pk).finished_at for h in harvests)


def test_a_worker_recycles_its_process_after_n_jobs(redis_client, processes, tmp_path):
    jobs = [enqueue("noop", {"n": n})[0] for n in range(6)]
    processes("worker", "worker", "--concurrency", "1", "--max-tasks-per-child", "2")
    wait_for(lambda: all(status_of(j) == JobStatus.SUCCEEDED for j in jobs), timeout=90, what="six jobs")
    pids = {Job.objects.get(pk=j.pk).worker for j in jobs}
    assert len(pids) == 3, "a fresh process (memory freed) every two jobs"


def test_a_job_past_its_kinds_time_limit_is_stopped_and_failed(redis_client, processes, tmp_path):
    journal = tmp_path / "journal"
    processes("worker", "worker", "--concurrency", "1")
    job, _ = enqueue("test_overrun", {"journal": str(journal)})
    wait_for(is_(job, JobStatus.FAILED), timeout=60, what="the time limit, " + logs(tmp_path))
    job.refresh_from_db()
    assert job.error == "time limit of 2 s exceeded"
    assert (job.finished_at - job.started_at).total_seconds() < 10
    assert [line.split()[0] for line in journal_lines(journal)] == ["start"]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of our own (restarting the shared one would disturb other test runs)."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", ""]
    state = {"process": subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)}

    def ping() -> bool:
        import redis

        try:
            return redis.Redis(port=port, socket_connect_timeout=1).ping()
        except redis.RedisError:
            return False

    def restart() -> None:
        stop(state["process"])
        time.sleep(2)
        state["process"] = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
        wait_for(ping, timeout=10, what="redis to restart")

    wait_for(ping, timeout=10, what="redis to start")
    yield port, restart
    stop(state["process"])


def test_workers_and_the_scheduler_carry_on_after_redis_restarts(redis_client, own_redis, processes, tmp_path):
    import redis

    port, restart = own_redis
    env = {"DIVVY_REDIS_PORT": str(port), "INSIGHTCLOUD_REDIS_DB": "0"}
    journal = tmp_path / "journal"

    def enqueue_through_own_redis(n: int) -> Job:
        before = set(Job.objects.values_list("pk", flat=True))
        subprocess.run(
            [sys.executable, "manage.py", "jobs", "enqueue", "test_effect", "--args", f'{{"journal": "{journal}"}}'],
            cwd=ROOT,
            env=process_env(**FAST, **env),
            check=True,
            capture_output=True,
        )
        return Job.objects.exclude(pk__in=before).get()

    processes("scheduler", "scheduler", "--name", "scheduler-r", **env)
    processes("worker", "worker", "--concurrency", "1", **env)
    own = redis.Redis(port=port)
    wait_for(lambda: own.get("insightcloud:scheduler:leader") == b"scheduler-r", timeout=60, what="the leader")
    first = enqueue_through_own_redis(1)
    wait_for(is_(first, JobStatus.SUCCEEDED), timeout=60, what="the first job, " + logs(tmp_path))

    restart()

    second = enqueue_through_own_redis(2)
    wait_for(is_(second, JobStatus.SUCCEEDED), timeout=90, what="a job after the restart, " + logs(tmp_path))
    wait_for(lambda: own.get("insightcloud:scheduler:leader") == b"scheduler-r", timeout=30, what="the lock again")


def test_a_worker_main_process_freezes_its_start_up_objects_once_before_it_forks():
    """Celery collects garbage before every fork of a pool process; what start-up made must be
    frozen out of those collections (else each recycle of a child stalls the main process)."""
    script = (
        "import gc, django; django.setup(); import scheduler.tasks\n"
        "from celery.signals import worker_before_create_process as before_fork\n"
        "before_fork.send(sender=None); first = gc.get_freeze_count()\n"
        "before_fork.send(sender=None); print(first, gc.get_freeze_count())\n"
    )
    env = process_env(DJANGO_SETTINGS_MODULE="insightcloud.settings")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    first, second = map(int, result.stdout.split())
    assert first > 10_000, "Django's, Celery's and our modules' objects are frozen"
    assert second == first, "frozen once: later forks leave newer objects to the collector"

"""Queue diagnostics, the leader lease and the schema gate."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from scheduler.diagnostics import queue_report, stats
from scheduler.heartbeat import beat
from scheduler.leader import DatabaseLease, RedisLease
from scheduler.models import Job, JobStatus, ProcessRole
from scheduler.schema import pending_migrations, wait_for_schema
from tests.foundation.test_settings import clean_env
from tests.processes import ROOT, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def finished_job(priority: str, wait: float, run: float, kind: str = "noop") -> Job:
    now = timezone.now()
    started = now - timedelta(seconds=run)
    return Job.objects.create(
        kind=kind,
        priority=priority,
        status=JobStatus.SUCCEEDED,
        enqueued_at=started - timedelta(seconds=wait),
        started_at=started,
        finished_at=now,
    )


def test_statistics_are_min_max_mean_and_p95():
    assert stats(list(range(1, 101))) == {"count": 100, "min": 1, "max": 100, "mean": 50.5, "p95": 95}
    assert stats([]) == {"count": 0, "min": None, "max": None, "mean": None, "p95": None}


def test_the_report_shows_waits_runs_running_jobs_workers_and_the_slowest(redis_client):
    for wait, run in ((1, 2), (3, 4), (5, 60)):
        finished_job("p2", wait, run)
    finished_job("p0", 0.25, 1, kind="action")
    Job.objects.create(kind="sleep", priority="p1", status=JobStatus.RUNNING, started_at=timezone.now(), worker="w:1")
    beat(ProcessRole.WORKER, "worker-p0@host", ["p0"])
    report = queue_report()
    p2 = report["queues"]["p2"]
    assert p2["name"] == "Standard"
    assert (p2["wait_seconds"]["min"], p2["wait_seconds"]["max"], p2["wait_seconds"]["mean"]) == (1, 5, 3)
    assert p2["processing_seconds"]["max"] == 60
    assert report["queues"]["p0"]["wait_seconds"]["p95"] == 0.25
    assert report["queues"]["p1"]["running_jobs"] == 1 and report["running"][0]["kind"] == "sleep"
    assert report["workers"][0]["name"] == "worker-p0@host" and report["workers"][0]["queues"] == ["p0"]
    assert report["slowest"][0]["seconds"] == 60
    assert report["queues"]["p2"]["depth"] == 0


def test_the_queues_command_prints_a_table_or_json(capsys):
    finished_job("p1", 2, 3)
    call_command("queues", "--json")
    data = json.loads(capsys.readouterr().out)
    assert set(data["queues"]) == {"p0", "p1", "p2"} and data["queues"]["p1"]["wait_seconds"]["mean"] == 2
    call_command("queues")
    text = capsys.readouterr().out
    assert "p0 Immediate" in text and "p1 High Priority" in text and "p2 Standard" in text


def test_only_one_holder_of_the_database_lease_until_it_expires():
    first, second = DatabaseLease("a", 1), DatabaseLease("b", 1)
    assert first.acquire_or_renew() and not second.acquire_or_renew()
    assert first.acquire_or_renew(), "the holder renews"
    time.sleep(1.2)
    assert second.acquire_or_renew() and not first.acquire_or_renew()


def test_only_one_holder_of_the_redis_lock_until_it_expires(redis_client):
    first, second = RedisLease("a", 1), RedisLease("b", 1)
    assert first.acquire_or_renew() and not second.acquire_or_renew()
    first.release()
    assert second.acquire_or_renew() and not first.acquire_or_renew()
    second.release()
    assert redis_client.get("insightcloud:scheduler:leader") is None


def test_the_test_database_schema_is_current():
    assert pending_migrations() == []
    wait_for_schema("test", timeout=1)


@pytest.mark.slow
def test_a_worker_waits_for_the_schema_until_the_scheduler_upgrades_it(tmp_path):
    env = clean_env(tmp_path, INSIGHTCLOUD_SQLITE_FILE=str(tmp_path / "fresh.sqlite3"))
    log = tmp_path / "worker.log"
    with open(log, "w") as output:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--concurrency", "1"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: "waiting for the database schema to be upgraded" in log.read_text(), timeout=60, what="wait")
        assert "scheduler --db-upgrade" in log.read_text()
        upgrade = subprocess.run(
            [sys.executable, "manage.py", "scheduler", "--db-upgrade", "--once"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert upgrade.returncode == 0, upgrade.stderr
        wait_for(lambda: "database schema is current; starting" in log.read_text(), timeout=30, what="the worker")
    finally:
        from tests.processes import stop

        stop(worker)


def test_db_upgrade_with_upgrade_only_migrates_and_exits(db, tmp_path):
    """What installers run: the schema is brought up to date and the command returns."""
    from django.core.management import call_command

    call_command("scheduler", "--db-upgrade", "--upgrade-only", verbosity=0)  # returns instead of looping

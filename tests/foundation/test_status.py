"""GET /Status reports the database, the broker, the scheduler and the workers."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.utils import timezone

from scheduler.heartbeat import beat
from scheduler.models import ProcessRole
from tests.processes import free_port, process_env, start_manage, stop, wait_for

KEYS = {"status", "version", "database", "broker", "scheduler", "workers"}


def test_status_is_healthy_with_a_live_scheduler_and_worker(client, db):
    beat(ProcessRole.SCHEDULER, "scheduler@test")
    beat(ProcessRole.WORKER, "worker@test", ["p0", "p1", "p2"])
    response = client.get("/Status")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= KEYS
    assert body["status"] == "healthy"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["broker"]["kind"] == ("embedded" if settings.EMBEDDED_BROKER else "redis")
    assert body["scheduler"]["running"] == ["scheduler@test"]
    assert body["workers"][0]["queues"] == ["p0", "p1", "p2"]


def test_status_is_degraded_but_200_without_a_scheduler(client, db):
    response = client.get("/Status")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["scheduler"]["ok"] is False


def test_a_stale_heartbeat_does_not_count_as_alive(client, db):
    from scheduler.models import ProcessHeartbeat

    beat(ProcessRole.WORKER, "worker@old", ["p0"])
    ProcessHeartbeat.objects.update(beat_at=timezone.now() - timezone.timedelta(minutes=5))
    assert client.get("/Status").json()["workers"] == []


def get(url: str) -> tuple[int, dict]:
    import json

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.django_db(transaction=True)
def test_status_answers_503_when_the_database_is_unreachable(tmp_path):
    if settings.EMBEDDED_DB:
        broken = {"INSIGHTCLOUD_SQLITE_FILE": str(tmp_path / "missing-dir" / "db.sqlite3")}
    else:
        broken = {"DIVVY_DB_PORT": str(free_port())}  # nothing listens there
    port = free_port()
    server = start_manage("interfaceserver", "--bind", f"127.0.0.1:{port}", "--workers", "1", env=process_env(**broken))
    try:
        status, body = wait_for(lambda: _try_get(f"http://127.0.0.1:{port}/Status"), timeout=30, what="the server")
    finally:
        stop(server)
    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["database"]["ok"] is False
    assert body["database"]["error"]


def _try_get(url: str):
    try:
        return get(url)
    except OSError:
        return None

"""Shared pieces of the scheduler tests: throw-away job kinds, fast timings, process starters."""

from __future__ import annotations

import pytest

import tests.scheduler.kinds  # noqa: F401  (registers the throw-away job kinds here too)
from tests.processes import process_env, start_manage, stop

#: Worker and scheduler processes started by the tests: fast heartbeats, the test job kinds.
FAST = {
    "INSIGHTCLOUD_JOB_MODULES": "tests.scheduler.kinds",
    "INSIGHTCLOUD_JOB_HEARTBEAT_SECONDS": "1",
    "INSIGHTCLOUD_JOB_STALE_SECONDS": "4",
    "INSIGHTCLOUD_JOB_RETRY_BASE_SECONDS": "0",
    "INSIGHTCLOUD_SCHEDULER_TICK_SECONDS": "1",
    "INSIGHTCLOUD_SCHEDULER_LOCK_TTL_SECONDS": "4",
    "INSIGHTCLOUD_HEARTBEAT_SECONDS": "1",
}


@pytest.fixture
def fast_jobs(settings):
    settings.JOB_HEARTBEAT_SECONDS = 1
    settings.JOB_STALE_SECONDS = 4
    settings.JOB_RETRY_BASE_SECONDS = 0
    settings.JOB_MAX_ATTEMPTS = 3
    return settings


@pytest.fixture
def without_job_kind(monkeypatch):
    """without_job_kind(name): the job kind is unregistered for this test (a build without that plug-in)."""
    from insightcloud.registry import registry

    def remove(name: str) -> None:
        monkeypatch.delitem(registry._store("jobs"), name, raising=False)

    return remove


@pytest.fixture
def processes(tmp_path):
    """start(name, *manage args, **env overrides) -> Popen; every process is stopped after the test."""
    started = []

    def start(name: str, *args: str, **env: str):
        process = start_manage(*args, env=process_env(**FAST, **env), log=tmp_path / f"{name}.log")
        process.log_path = tmp_path / f"{name}.log"
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process)


def logs(tmp_path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(tmp_path.glob("*.log")))

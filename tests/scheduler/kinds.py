"""Throw-away job kinds for the scheduler tests, loaded in worker processes through
INSIGHTCLOUD_JOB_MODULES=tests.scheduler.kinds (and imported by the tests themselves)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from harvesters.base import InvalidCredentials, TransientError
from insightcloud.registry import registry
from scheduler.jobs import job_kind
from scheduler.queues import P0, P1, P2
from scheduler.runner import FOLLOW_UPS

CHAIN_HARVEST = "test_chain_harvest"
CHAIN_EVALUATE = "test_chain_evaluate"


def _append(path: str, line: str) -> None:
    with open(path, "a") as handle:
        handle.write(line + "\n")


if "test_effect" not in registry.names("jobs"):
    with registry.unlocked():

        @job_kind("test_effect", priority=P2, time_limit=120)
        def effect(job, journal: str, seconds: float = 0.0, fail_first: int = 0) -> dict:  # noqa: ANN001
            """Writes "start" to a journal, waits (stopping on cancel), then writes its one effect."""
            _append(journal, f"start {job.pk} {os.getpid()}")
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if job.cancel_requested:
                    _append(journal, f"stopped {job.pk}")
                    return {"stopped": True}
                time.sleep(0.05)
            if job.attempts <= fail_first:
                raise TransientError("throttled, try again")
            _append(journal, f"effect {job.pk} {os.getpid()}")
            return {"pid": os.getpid()}

        @job_kind("test_fails", priority=P1, time_limit=60)
        def fails(job, transient: bool = False, credentials: bool = False) -> dict:  # noqa: ANN001
            """Raises a transient, an invalid-credentials or a permanent error."""
            if credentials:
                raise InvalidCredentials("AWS refused the credentials: InvalidClientTokenId")
            if transient:
                raise TransientError("Throttling: Rate exceeded")
            raise ValueError("a bug")

        @job_kind("test_overrun", priority=P2, time_limit=2)
        def overrun(job, journal: str) -> dict:  # noqa: ANN001
            """Runs far past its 2-second time limit, ignoring cancellation."""
            _append(journal, f"start {job.pk} {os.getpid()}")
            time.sleep(60)
            _append(journal, f"effect {job.pk}")
            return {}

        @job_kind("test_urgent", priority=P0, time_limit=60)
        def urgent(job, journal: str) -> dict:  # noqa: ANN001
            """Records that it ran, at once."""
            _append(journal, f"urgent {job.pk}")
            return {}

        @job_kind(CHAIN_HARVEST, priority=P2, time_limit=60)
        def chain_harvest(job, cloud_id: int, regions=None, types=None, seconds: float = 0.0) -> dict:  # noqa: ANN001
            """Stands in for the harvest kind."""
            time.sleep(seconds)
            return {"cloud_id": cloud_id, "regions": regions, "types": types}

        @job_kind("test_refused_harvest", priority=P2, time_limit=60)
        def refused_harvest(job, cloud_id: int, regions=None, types=None) -> dict:  # noqa: ANN001
            """Does what a harvester does when the cloud refuses its credentials."""
            from insightcloud.inventory.models import CloudAccount, CloudStatus

            message = "AWS refused the credentials: InvalidClientTokenId"
            refused = CloudStatus.INVALID_CREDENTIALS
            CloudAccount.objects.filter(pk=cloud_id).update(status=refused, status_detail=message)
            raise InvalidCredentials(message)

        @job_kind("test_loses_its_connection", priority=P2, time_limit=60)
        def loses_its_connection(job) -> dict:  # noqa: ANN001
            """The database drops this process's connection mid-job (MariaDB restarted, idle kill…)."""
            import threading

            from django.db import connection, connections

            with connection.cursor() as cursor:
                cursor.execute("SELECT CONNECTION_ID()")
                (connection_id,) = cursor.fetchone()

            def kill() -> None:  # from another connection (Django's are per thread)
                with connections["default"].cursor() as other:
                    other.execute(f"KILL {int(connection_id)}")
                connections["default"].close()

            killer = threading.Thread(target=kill)
            killer.start()
            killer.join()
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")  # fails: the connection is gone
            return {}

        @job_kind(CHAIN_EVALUATE, priority=P1, time_limit=60)
        def chain_evaluate(job, cloud_id: int, full: bool = False) -> dict:  # noqa: ANN001
            """Stands in for the evaluate kind."""
            return {"evaluated": cloud_id}

    FOLLOW_UPS[CHAIN_HARVEST] = CHAIN_EVALUATE

# Worker processes of the held-writes tests keep writes back long enough to be caught holding.
if os.environ.get("TEST_HOLD_SECONDS"):
    from scheduler import held_writes

    held_writes.HOLD_SECONDS = float(os.environ["TEST_HOLD_SECONDS"])


def journal_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []

"""``manage.py scheduler [--db-upgrade] [--once]``: the loop that decides what is due.

Any number may run: one holds the leader lock (Redis, or a database lease with the embedded
broker) and does the work — reaping jobs whose worker died, enqueuing due harvests, exporting
backlog metrics — while the others beat their heartbeat and stand by to take over.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from scheduler.heartbeat import beat, forget
from scheduler.leader import LeaderElection
from scheduler.models import ProcessRole
from scheduler.schema import wait_for_schema

logger = logging.getLogger("insightcloud.scheduler")


class Command(BaseCommand):
    help = "Run the scheduler loop (one active, the others stand by)."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--once", action="store_true", help="run one iteration and exit")
        parser.add_argument("--db-upgrade", action="store_true", help="apply database migrations first")
        parser.add_argument(
            "--upgrade-only", action="store_true", help="with --db-upgrade: apply the migrations and exit (installers)"
        )
        parser.add_argument("--name", default=None, help="scheduler name (default scheduler@host-pid)")

    def handle(self, *args, **options) -> None:
        if options["db_upgrade"]:
            logger.info("applying database migrations")
            call_command("migrate", interactive=False, verbosity=1)
            logger.info("database schema is current")
            if options["upgrade_only"]:
                return
        else:
            wait_for_schema("scheduler")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        name = options["name"] or f"scheduler@{socket.gethostname()}-{os.getpid()}"
        election = LeaderElection(name)
        logger.info("scheduler %s started", name)
        try:
            if options["once"]:
                election.step()
                self.tick(name, election)
                return
            election.start()
            while True:
                self.tick(name, election)
                if stop.wait(settings.SCHEDULER_TICK_SECONDS):
                    break
        finally:
            election.stop()
            close_old_connections()
            try:
                forget(name)
            except Exception:
                logger.warning("could not remove the scheduler heartbeat", exc_info=True)
            logger.info("scheduler %s stopped", name)

    _last_metrics = 0.0

    def tick(self, name: str, election: LeaderElection) -> None:
        close_old_connections()
        self.step("heartbeat", lambda: beat(ProcessRole.SCHEDULER, name, ["leader"] if election.is_leader else []))
        if not election.is_leader:
            return
        from scheduler.planner import plan_harvests
        from scheduler.reaper import reap_stale_jobs, recover_unrecorded_starts, resend_lost_messages

        self.step("reaper", reap_stale_jobs)
        self.step("unrecorded starts", recover_unrecorded_starts)
        self.step("lost messages", resend_lost_messages)
        if election.is_leader:
            self.step("harvest planning", plan_harvests)
        if (
            settings.METRICS_BACKEND != "none"
            and time.monotonic() - self._last_metrics >= settings.METRICS_INTERVAL_SECONDS
        ):
            from scheduler.metrics import enqueue_export

            self.step("metrics", enqueue_export)
            self._last_metrics = time.monotonic()

    def step(self, what: str, call) -> None:  # noqa: ANN001
        try:
            call()
        except Exception as exc:  # the database or Redis may be restarting: say so and try next tick
            logger.warning("scheduler %s failed: %s: %s", what, type(exc).__name__, exc)
            close_old_connections()

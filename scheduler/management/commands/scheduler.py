"""``manage.py scheduler``: the loop that decides what is due (filled in by the scheduler issue).

Here it records its heartbeat so /Status can tell whether a scheduler is alive.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from scheduler.heartbeat import beat, forget
from scheduler.models import ProcessRole

logger = logging.getLogger("insightcloud.scheduler")


class Command(BaseCommand):
    help = "Run the scheduler loop."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--once", action="store_true", help="run one iteration and exit")

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        name = f"scheduler@{socket.gethostname()}-{os.getpid()}"
        logger.info("scheduler %s started", name)
        try:
            while True:
                self.tick(name)
                if options["once"] or stop.wait(settings.HEARTBEAT_INTERVAL):
                    break
        finally:
            close_old_connections()
            forget(name)
            logger.info("scheduler %s stopped", name)

    def tick(self, name: str) -> None:
        try:
            close_old_connections()
            beat(ProcessRole.SCHEDULER, name)
            logger.debug("scheduler heartbeat")
        except Exception as exc:  # the database may be restarting; say so and try again next tick
            logger.warning("scheduler heartbeat failed: %s", exc)

"""Process heartbeats: schedulers and workers record that they are alive; /Status reads them."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from scheduler.models import ProcessHeartbeat, ProcessRole

logger = logging.getLogger(__name__)


def beat(role: str, name: str, queues: list[str] | None = None) -> None:
    ProcessHeartbeat.objects.update_or_create(
        name=name,
        defaults={
            "role": role,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "queues": queues or [],
            "beat_at": timezone.now(),
        },
    )


def forget(name: str) -> None:
    ProcessHeartbeat.objects.filter(name=name).delete()


def live(role: str) -> list[ProcessHeartbeat]:
    """Processes of ``role`` that beat within three intervals."""
    cutoff = timezone.now() - timedelta(seconds=3 * settings.HEARTBEAT_INTERVAL)
    return list(ProcessHeartbeat.objects.filter(role=role, beat_at__gte=cutoff).order_by("name"))


class _WorkerHeartbeat:
    """A daemon thread in the worker's main process, started when the worker is ready."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.name = ""

    def start(self, name: str, queues: list[str]) -> None:
        self.name = name
        threading.Thread(target=self._run, args=(queues,), name="heartbeat", daemon=True).start()

    def _run(self, queues: list[str]) -> None:
        while not self.stop.is_set():
            try:
                close_old_connections()
                beat(ProcessRole.WORKER, self.name, queues)
            except Exception:  # a database blip must not kill the worker; the next beat retries
                logger.warning("worker heartbeat failed", exc_info=True)
            self.stop.wait(settings.HEARTBEAT_INTERVAL)


_worker_heartbeat = _WorkerHeartbeat()


@worker_ready.connect
def _on_worker_ready(sender, **kwargs) -> None:  # noqa: ANN001
    queues = sorted(q.name for q in sender.app.amqp.queues.consume_from.values())
    _worker_heartbeat.start(sender.hostname, queues)


@worker_shutdown.connect
def _on_worker_shutdown(sender, **kwargs) -> None:  # noqa: ANN001
    _worker_heartbeat.stop.set()
    if _worker_heartbeat.name:
        try:
            close_old_connections()
            forget(_worker_heartbeat.name)
        except Exception:
            logger.warning("could not remove worker heartbeat", exc_info=True)

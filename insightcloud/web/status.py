"""GET /Status: the health of the database, the broker, the scheduler and the workers.

Answers 503 when the database is unreachable (nothing works without it), 200 otherwise with
``status`` "healthy" or "degraded" so a load balancer keeps a node that can still serve pages.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def database_state() -> dict:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "engine": connection.vendor, "version": _db_version()}
    except Exception as exc:
        logger.warning("status: database unreachable: %s", exc)
        return {"ok": False, "engine": connection.vendor, "error": _one_line(exc)}


def _db_version() -> str:
    if connection.vendor == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version
    return ".".join(str(part) for part in connection.mysql_version) if connection.vendor == "mysql" else ""


def broker_state() -> dict:
    if settings.EMBEDDED_BROKER:
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        return {"ok": folder.is_dir(), "kind": "embedded", "path": str(folder)}
    try:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        info = client.info("server")
        return {"ok": True, "kind": "redis", "version": info.get("redis_version")}
    except Exception as exc:
        return {"ok": False, "kind": "redis", "error": _one_line(exc)}


def processes_state() -> tuple[dict, list[dict]]:
    from scheduler.heartbeat import live
    from scheduler.models import ProcessRole

    schedulers = live(ProcessRole.SCHEDULER)
    workers = live(ProcessRole.WORKER)
    scheduler = {
        "ok": bool(schedulers),
        "running": [s.name for s in schedulers],
        "last_heartbeat": max((s.beat_at for s in schedulers), default=None),
    }
    return scheduler, [{"name": w.name, "queues": w.queues, "last_heartbeat": w.beat_at} for w in workers]


@require_GET
def status(request) -> JsonResponse:  # noqa: ANN001
    database = database_state()
    broker = broker_state()
    scheduler: dict = {"ok": False, "running": [], "last_heartbeat": None}
    workers: list[dict] = []
    if database["ok"]:
        try:
            scheduler, workers = processes_state()
        except Exception as exc:  # schema not migrated yet, for example
            scheduler["error"] = _one_line(exc)
    healthy = database["ok"] and broker["ok"] and scheduler["ok"] and bool(workers)
    body = {
        "status": "healthy" if healthy else ("unhealthy" if not database["ok"] else "degraded"),
        "version": settings.VERSION,
        "database": database,
        "broker": broker,
        "scheduler": scheduler,
        "workers": workers,
    }
    return JsonResponse(body, status=200 if database["ok"] else 503)


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"

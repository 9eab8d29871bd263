"""The Celery app: queues p0/p1/p2 from scheduler.queues, settings from Django (CELERY_*)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insightcloud.settings")

app = Celery("insightcloud")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _configure_queues() -> None:
    from scheduler.queues import CELERY_QUEUES, P2, PRIORITIES

    app.conf.task_queues = CELERY_QUEUES
    app.conf.task_routes = {f"insightcloud.jobs.run_{p}": {"queue": p} for p in PRIORITIES}
    app.conf.task_default_queue = P2
    app.conf.task_create_missing_queues = False
    # Celery's Django fix-up closes the database connection before and after every task: a new
    # MariaDB connection per job cost more than the job's own queries. Keep it for this many tasks;
    # scheduler.runner drops a connection idle for a while and reconnects one that died.
    app.conf.CELERY_DB_REUSE_MAX = 1000


_configure_queues()
app.autodiscover_tasks(["scheduler"])

"""``manage.py worker [--queues p0,p1,p2] [--concurrency N]``: a Celery worker on our queues."""

from __future__ import annotations

import os
import socket

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scheduler.queues import PRIORITIES, parse_queue_list
from scheduler.schema import wait_for_schema


class Command(BaseCommand):
    help = "Run a worker consuming the job queues in strict priority order (p0 before p1 before p2)."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--queues", default=",".join(PRIORITIES), help="comma-separated, default p0,p1,p2")
        parser.add_argument("--concurrency", type=int, default=None, help="processes (default: CPU count)")
        parser.add_argument("--name", default=None, help="node name (default: worker-<queues>@host-pid)")
        parser.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
        parser.add_argument("--max-tasks-per-child", type=int, default=None, help="recycle a process after N jobs")
        parser.add_argument("--max-memory-mb", type=int, default=None, help="recycle a process above M MB resident")

    def handle(self, *args, **options) -> None:
        try:
            queues = parse_queue_list(options["queues"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["concurrency"] is not None and options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1")
        for option in ("max_tasks_per_child", "max_memory_mb"):
            if options[option] is not None and options[option] < 1:
                raise CommandError(f"--{option.replace('_', '-')} must be at least 1")
        wait_for_schema("worker")
        from insightcloud.celery import app

        name = options["name"] or f"worker-{'-'.join(queues)}@{socket.gethostname()}-{os.getpid()}"
        argv = [
            "worker",
            f"--queues={','.join(queues)}",
            f"--hostname={name}",
            f"--pool={options['pool']}",
            f"--loglevel={settings.LOG_LEVEL}",
            "--without-gossip",
            "--without-mingle",
        ]
        if options["concurrency"]:
            argv.append(f"--concurrency={options['concurrency']}")
        if options["max_tasks_per_child"]:
            argv.append(f"--max-tasks-per-child={options['max_tasks_per_child']}")
        if options["max_memory_mb"]:
            argv.append(f"--max-memory-per-child={options['max_memory_mb'] * 1024}")
        app.worker_main(argv)

"""``manage.py queues [--json]``: depth, wait and processing times per queue, workers, scheduler."""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from scheduler.diagnostics import queue_report


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


class Command(BaseCommand):
    help = "Show the job queues: depth, wait/processing statistics, running jobs, workers, scheduler."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument("--minutes", type=int, default=60, help="statistics window (default 60)")

    def handle(self, *args, **options) -> None:
        if options["minutes"] < 1:
            raise CommandError("--minutes must be at least 1")
        report = queue_report(timedelta(minutes=options["minutes"]))
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, default=str))
            return
        out = self.stdout.write
        out(f"queues (statistics over the last {options['minutes']} min; broker {report['broker']})")
        if report["broker_error"]:
            out(f"  broker unreachable: {report['broker_error']}")
        columns = f"  {'queue':<18}{'depth':>7}{'queued':>8}{'running':>8}"
        out(f"{columns}   wait min/mean/p95/max s    run min/mean/p95/max s")
        for priority, q in report["queues"].items():
            w, r = q["wait_seconds"], q["processing_seconds"]
            wait = "/".join(_fmt(w[k]) for k in ("min", "mean", "p95", "max"))
            run = "/".join(_fmt(r[k]) for k in ("min", "mean", "p95", "max"))
            depth = "?" if q["depth"] is None else q["depth"]
            out(f"  {priority} {q['name']:<15}{depth:>7}{q['queued_jobs']:>8}{q['running_jobs']:>8}   {wait:<26} {run}")
        alive = ", ".join(report["schedulers"]) or "none"
        out(f"scheduler: active {report['scheduler_leader'] or 'none'}; alive: {alive}")
        out(f"workers ({len(report['workers'])}):")
        for worker in report["workers"]:
            out(f"  {worker['name']}  queues {','.join(worker['queues'])}  last heartbeat {worker['last_heartbeat']}")
        out(f"running jobs ({len(report['running'])}):")
        for job in report["running"]:
            label = f"#{job['id']} {job['kind']} [{job['priority']}]"
            out(
                f"  {label} on {job['worker']} for {_fmt(job['running_seconds'])} s"
                f" (heartbeat {_fmt(job['heartbeat_age_seconds'])} s ago)"
            )
        out("slowest jobs:")
        for job in report["slowest"]:
            label = f"#{job['id']} {job['kind']} [{job['priority']}]"
            out(f"  {label} {job['status']} {job['seconds']:.2f} s {job['dedup_key']}")

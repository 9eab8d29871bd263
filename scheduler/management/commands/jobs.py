"""``manage.py jobs cancel ID`` / ``manage.py jobs show ID``."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from scheduler.models import Job
from scheduler.runner import cancel


class Command(BaseCommand):
    help = "Cancel or show a job."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        sub = parser.add_subparsers(dest="verb", required=True)
        for verb in ("cancel", "show"):
            sub.add_parser(verb).add_argument("job_id", type=int)

    def handle(self, *args, **options) -> None:
        job_id = options["job_id"]
        if not Job.objects.filter(pk=job_id).exists():
            raise CommandError(f"no job {job_id}")
        if options["verb"] == "cancel":
            outcome = cancel(job_id, by="cli")
            messages = {"cancelled": "cancelled", "cancelling": "cancel requested; it stops at its next check"}
            self.stdout.write(f"job {job_id}: {messages.get(outcome, f'already {outcome}; nothing to cancel')}")
            return
        job = Job.objects.get(pk=job_id)
        fields = ("id", "kind", "priority", "status", "dedup_key", "attempts", "worker", "requested_by", "error")
        data = {f: getattr(job, f) for f in fields}
        data.update(
            arguments=job.arguments,
            result=job.result,
            enqueued_at=job.enqueued_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )
        self.stdout.write(json.dumps(data, indent=2, default=str))
        if job.log:
            self.stdout.write(job.log)

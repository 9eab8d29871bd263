"""``manage.py jobs enqueue KIND [--args JSON] [--priority p0]`` / ``jobs cancel ID`` / ``jobs show ID``."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from insightcloud.registry import RegistryError
from scheduler.models import Job
from scheduler.queues import PRIORITIES
from scheduler.runner import cancel, enqueue


class Command(BaseCommand):
    help = "Enqueue, cancel or show a job."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        sub = parser.add_subparsers(dest="verb", required=True)
        add = sub.add_parser("enqueue", help="enqueue a job of a registered kind (a user-asked harvest is p0)")
        add.add_argument("kind")
        add.add_argument("--args", dest="job_arguments", default="{}", help="the job's arguments as a JSON object")
        add.add_argument("--priority", choices=PRIORITIES, default=None)
        add.add_argument("--dedup-key", default="")
        add.add_argument("--cloud", type=int, default=None, help="the cloud account id the job is about")
        for verb in ("cancel", "show"):
            sub.add_parser(verb).add_argument("job_id", type=int)

    def handle(self, *args, **options) -> None:
        if options["verb"] == "enqueue":
            self.enqueue(options)
            return
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

    def enqueue(self, options: dict) -> None:
        try:
            arguments = json.loads(options["job_arguments"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--args is not JSON: {exc}") from None
        if not isinstance(arguments, dict):
            raise CommandError("--args must be a JSON object")
        try:
            job, created = enqueue(
                options["kind"],
                arguments,
                priority=options["priority"],
                dedup_key=options["dedup_key"],
                cloud_id=options["cloud"],
                requested_by="cli",
            )
        except RegistryError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{'enqueued' if created else 'already queued or running:'} job {job.pk}")

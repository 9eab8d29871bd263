"""python manage.py evaluate --cloud NAME [--full] [--sync]"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from compliance.management import lookup


class Command(BaseCommand):
    help = "Evaluate one cloud against its insights: enqueued on p1, or in this process with --sync."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--cloud", required=True, help="cloud account name")
        parser.add_argument("--organization", help="organization slug (when several have this cloud name)")
        parser.add_argument("--full", action="store_true", help="re-evaluate every resource, not only changes")
        parser.add_argument("--sync", action="store_true", help="evaluate here and print counts per insight")

    def handle(self, *args, **options) -> None:
        cloud = lookup.cloud(options["cloud"], options["organization"])
        if not options["sync"]:
            from compliance.jobs import enqueue_evaluation

            job, created = enqueue_evaluation(cloud.pk, full=options["full"], requested_by="manage.py evaluate")
            self.stdout.write(f"job {job.pk} {'enqueued' if created else 'already queued'} (evaluate {cloud.name})")
            return
        from compliance.evaluate import evaluate_cloud

        result = evaluate_cloud(cloud, full=options["full"], log=lambda line: None)
        mode = "full" if result.full else "incremental"
        self.stdout.write(
            f"{cloud.name}: {mode} evaluation of {result.resources} resources, {result.evaluations} checks"
        )
        self.stdout.write(f"{'insight':<55} {'open':>7} {'new':>6} {'resolved':>8} {'reopened':>8}")
        for insight_id, counts in sorted(result.insights.items()):
            if counts.open or counts.new or counts.resolved or counts.reopened:
                self.stdout.write(
                    f"{insight_id:<55} {counts.open:>7} {counts.new:>6} {counts.resolved:>8} {counts.reopened:>8}"
                )

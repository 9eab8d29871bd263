"""``manage.py harvest --cloud NAME [--regions r1,r2] [--types t1,t2] [--sync]``.

Without ``--sync`` a p0 "harvest" job is enqueued (a worker runs it) and its id printed; with
``--sync`` the harvest runs in this process and a summary is printed per type.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from harvesters.management.commands._clouds import find_cloud, split_list


class Command(BaseCommand):
    help = "Harvest a cloud account now (enqueue a p0 job, or --sync to run it here)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cloud", required=True, help="cloud name")
        parser.add_argument("--organization", help="organization slug, when several have a cloud of that name")
        parser.add_argument("--regions", help="comma-separated regions (default: the cloud's regions)")
        parser.add_argument("--types", help="comma-separated native or normalized types (default: all)")
        parser.add_argument("--sync", action="store_true", help="harvest in this process and print a summary")

    def handle(self, *args: Any, **options: Any) -> None:
        from harvesters.base import resource_types_for

        cloud = find_cloud(options["cloud"], options["organization"])
        regions, types = split_list(options["regions"]), split_list(options["types"])
        if types:
            known = resource_types_for(cloud.provider)
            names = {spec.native_type for spec in known} | {spec.resource_type for spec in known}
            unknown = [name for name in types if name not in names]
            if unknown:
                raise CommandError(f"unknown {cloud.provider} resource type(s): {', '.join(unknown)}")
        if not options["sync"]:
            self.enqueue(cloud, regions, types)
            return
        self.run(cloud, regions, types)

    def enqueue(self, cloud: Any, regions: list[str] | None, types: list[str] | None) -> None:
        from scheduler.queues import P0
        from scheduler.runner import enqueue

        job, created = enqueue(
            "harvest",
            {"cloud_id": cloud.pk, "regions": regions, "types": types},
            priority=P0,
            dedup_key=f"harvest:{cloud.pk}:{','.join(regions or [])}:{','.join(types or [])}",
            cloud_id=cloud.pk,
            organization_id=cloud.organization_id,
            requested_by="manage.py harvest",
        )
        self.stdout.write(str(job.pk))
        if not created:
            self.stderr.write(f"the same harvest is already {job.status} (job {job.pk})")

    def run(self, cloud: Any, regions: list[str] | None, types: list[str] | None) -> None:
        from harvesters.harvest import harvest_cloud

        report = harvest_cloud(cloud, regions, types)
        if report.error:
            raise CommandError(report.error)
        width = max([len(name) for name in report.by_type()] + [4])
        self.stdout.write(f"{'type':<{width}}  {'seen':>7} {'created':>7} {'modified':>8} {'deleted':>7}  errors")
        for native_type, entry in report.by_type().items():
            self.stdout.write(
                f"{native_type:<{width}}  {entry['seen']:>7} {entry['created']:>7} {entry['modified']:>8} "
                f"{entry['deleted']:>7}  {len(entry['errors'])}"
            )
        totals = report.totals()
        self.stdout.write(
            f"{'total':<{width}}  {totals.seen:>7} {totals.created:>7} {totals.modified:>8} {totals.deleted:>7}  "
            f"{len(report.errors)}   ({report.seconds:.1f}s, account {report.account_id})"
        )
        for listing in report.errors:
            self.stderr.write(f"error: {listing.native_type} in {listing.region}: {listing.error}")
        if report.cancelled:
            raise CommandError("harvest cancelled")
        if report.errors:
            raise CommandError(f"{len(report.errors)} listing(s) failed; the rest was harvested")

"""``manage.py action NAME --resource ID [--dry-run] [--param KEY=VALUE ...]``: enqueue a p0 action."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError

from insightcloud.registry import registry
from scheduler.actions import ALWAYS, request_action


class Command(BaseCommand):
    help = "Run an on-demand action on a resource (as a p0 job). Without NAME, list the actions."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("name", nargs="?", help="e.g. aws.instance.stop")
        parser.add_argument("--resource", type=int, help="the resource's id in the inventory")
        parser.add_argument("--dry-run", action="store_true", help="check and report, change nothing")
        parser.add_argument("--param", action="append", default=[], help="KEY=VALUE for actions that take one")
        parser.add_argument("--as", dest="user", default=None, help="who asks (default: the OS user)")

    def handle(self, *args, **options) -> None:
        if not options["name"]:
            for name, spec in registry.items("actions"):
                when = "" if spec.applies_to is ALWAYS else f" (when {spec.applies_to.summary})"
                self.stdout.write(
                    f"{name:<42} {', '.join(spec.resource_types):<26} {spec.description.splitlines()[0]}{when}"
                )
            return
        if options["resource"] is None:
            raise CommandError("--resource ID is required")
        params = {}
        for item in options["param"]:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise CommandError(f"--param expects KEY=VALUE, got {item!r}")
            params[key] = value
        try:
            job, created = request_action(
                options["name"],
                options["resource"],
                dry_run=options["dry_run"],
                requested_by=options["user"] or f"cli:{getpass.getuser()}",
                params=params,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        state = "enqueued" if created else "already queued or running as"
        self.stdout.write(f"{state} job {job.pk} ({options['name']} on resource {options['resource']})")

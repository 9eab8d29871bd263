"""python manage.py findings [--cloud NAME] [--pack ID] [--insight ID] [--severity S] --format json|csv|ocsf"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from compliance import export
from compliance.library import insights_for, packs_for
from compliance.management import lookup
from compliance.models import Finding
from compliance.schema import SEVERITIES


class Command(BaseCommand):
    help = "Write findings to standard output as JSON, CSV or OCSF Compliance Finding events."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--organization", help="organization slug (default: the only one)")
        parser.add_argument("--cloud", help="cloud account name")
        parser.add_argument("--pack", help="only insights of this compliance pack")
        parser.add_argument("--insight", help="only this insight")
        parser.add_argument(
            "--severity", action="append", default=[], help=f"one of {', '.join(SEVERITIES)} (repeatable)"
        )
        parser.add_argument("--include-exempted", action="store_true")
        parser.add_argument("--include-resolved", action="store_true")
        parser.add_argument("--format", choices=("json", "csv", "ocsf"), default="json")

    def handle(self, *args, **options) -> None:
        for severity in options["severity"]:
            if severity not in SEVERITIES:
                raise CommandError(
                    f"--severity: unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}"
                )
        org = lookup.organization(options["organization"])
        insights = insights_for(org.pk)
        pack = None
        if options["pack"]:
            packs = packs_for(org.pk)
            if options["pack"] not in packs:
                raise CommandError(
                    f"--pack: unknown pack {options['pack']!r}; expected one of {', '.join(sorted(packs))}"
                )
            pack = packs[options["pack"]]
        if options["insight"] and options["insight"] not in insights:
            raise CommandError(f"--insight: unknown insight {options['insight']!r}")
        queryset = Finding.objects.filter(cloud__organization=org)
        if options["cloud"]:
            queryset = queryset.filter(cloud=lookup.cloud(options["cloud"], org.slug))
        now = timezone.now()
        selected = export.select_findings(
            queryset,
            insights=insights,
            pack=pack,
            insight_id=options["insight"],
            severities=options["severity"],
            include_exempted=options["include_exempted"],
            include_resolved=options["include_resolved"],
            now=now,
        )
        rows = export.records(selected.iterator(chunk_size=2000), insights, now)
        if options["format"] == "csv":
            self.stdout.write(export.to_csv(rows), ending="")
        elif options["format"] == "ocsf":
            self.stdout.write(json.dumps([export.to_ocsf(row) for row in rows], indent=2))
        else:
            self.stdout.write(json.dumps([export.public(row) for row in rows], indent=2))

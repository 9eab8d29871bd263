"""python manage.py insights list | show ID | validate FILE | import FILE | export"""

from __future__ import annotations

from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from compliance.library import builtin_insights, insights_for, parse_insight_file
from compliance.management import lookup
from compliance.schema import CLOUDS, SEVERITIES, DefinitionError


class Command(BaseCommand):
    help = "List, show, validate, import (as custom insights) and export insights."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        actions = parser.add_subparsers(dest="action", required=True, metavar="list|show|validate|import|export")
        listing = actions.add_parser("list", help="one line per insight")
        listing.add_argument("--cloud", choices=CLOUDS)
        listing.add_argument("--severity", choices=SEVERITIES)
        listing.add_argument("--organization", help="include this organization's custom insights")
        show = actions.add_parser("show", help="one insight as YAML")
        show.add_argument("insight_id")
        show.add_argument("--organization")
        validate = actions.add_parser("validate", help="check a YAML file of insights; nothing is saved")
        validate.add_argument("file")
        importing = actions.add_parser("import", help="save a YAML file of insights as custom insights")
        importing.add_argument("file")
        importing.add_argument("--organization")
        importing.add_argument("--created-by", default="manage.py insights import")
        exporting = actions.add_parser("export", help="every insight (built-in and custom) as YAML")
        exporting.add_argument("--organization")
        exporting.add_argument("--custom-only", action="store_true")

    def handle(self, *args, **options) -> None:
        getattr(self, f"do_{options['action']}")(options)

    def _catalog(self, options) -> dict:  # noqa: ANN001
        if options.get("organization"):
            return insights_for(lookup.organization(options["organization"]).pk)
        return builtin_insights()

    def do_list(self, options) -> None:  # noqa: ANN001
        for insight in sorted(self._catalog(options).values(), key=lambda i: i.id):
            if options["cloud"] and options["cloud"] not in insight.clouds:
                continue
            if options["severity"] and insight.severity != options["severity"]:
                continue
            self.stdout.write(
                f"{insight.id:<50} {insight.severity:<9} {','.join(insight.clouds):<24} "
                f"{','.join(insight.resource_types):<22} {insight.name}"
            )

    def do_show(self, options) -> None:  # noqa: ANN001
        insight = self._catalog(options).get(options["insight_id"])
        if insight is None:
            raise CommandError(f"unknown insight {options['insight_id']!r}")
        data = {**insight.definition(), "source": insight.source, "hash": insight.hash}
        self.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120))

    def _parse(self, path: str) -> list:
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            return parse_insight_file(file, source="custom")
        except DefinitionError as exc:
            raise CommandError("invalid insights, nothing saved:\n" + "\n".join(exc.errors)) from None

    def do_validate(self, options) -> None:  # noqa: ANN001
        insights = self._parse(options["file"])
        self.stdout.write(f"{options['file']}: {len(insights)} insight(s) valid")

    def do_import(self, options) -> None:  # noqa: ANN001
        from compliance.models import CustomInsight

        insights = self._parse(options["file"])
        org = lookup.organization(options["organization"])
        clashes = sorted(i.id for i in insights if i.id in builtin_insights())
        if clashes:
            raise CommandError(f"id(s) already used by built-in insights, nothing saved: {', '.join(clashes)}")
        with transaction.atomic():
            for insight in insights:
                CustomInsight.objects.update_or_create(
                    organization=org,
                    insight_id=insight.id,
                    defaults={
                        "definition": insight.definition(),
                        "hash": insight.hash,
                        "created_by": options["created_by"],
                    },
                )
        self.stdout.write(f"imported {len(insights)} insight(s) into {org.slug}: {', '.join(i.id for i in insights)}")

    def do_export(self, options) -> None:  # noqa: ANN001
        insights = self._catalog(options).values()
        if options["custom_only"]:
            insights = [i for i in insights if i.source == "custom"]
        data = {"insights": [i.definition() for i in sorted(insights, key=lambda i: i.id)]}
        self.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120))

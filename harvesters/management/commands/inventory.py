"""``manage.py inventory [--cloud NAME] [--type T] [--region R] --format json|csv``.

Streams the live inventory to standard output, reading it a page of rows at a time, so memory
does not grow with the estate.
"""

from __future__ import annotations

import csv
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from harvesters.management.commands._clouds import find_cloud

COLUMNS = (
    "resource_id",
    "name",
    "resource_type",
    "native_type",
    "provider",
    "cloud_name",
    "account_id",
    "region",
    "tags",
    "properties",
    "first_seen",
    "last_seen",
)
_FIELDS = {
    "resource_id": "native_id",
    "name": "name",
    "resource_type": "resource_type",
    "native_type": "native_type",
    "provider": "provider",
    "cloud_name": "cloud__name",
    "account_id": "cloud__account_id",
    "region": "region",
    "tags": "tags",
    "properties": "properties",
    "first_seen": "first_seen",
    "last_seen": "last_seen",
    "deleted_at": "deleted_at",
}
CHUNK = 2000


class Command(BaseCommand):
    help = "Write the inventory (live resources) as JSON or CSV to standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cloud", help="cloud name")
        parser.add_argument("--organization", help="organization slug")
        parser.add_argument("--type", help="native type (aws.ec2.instance) or normalized type (instance)")
        parser.add_argument("--region")
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--include-deleted", action="store_true", help="also resources marked deleted")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.db.models import Q

        from insightcloud.inventory.models import Resource

        rows = Resource.objects.all()
        if options["cloud"]:
            rows = rows.filter(cloud=find_cloud(options["cloud"], options["organization"]))
        elif options["organization"]:
            rows = rows.filter(cloud__organization__slug=options["organization"])
        if options["type"]:
            rows = rows.filter(Q(native_type=options["type"]) | Q(resource_type=options["type"]))
        if options["region"]:
            rows = rows.filter(region=options["region"])
        columns = list(COLUMNS)
        if options["include_deleted"]:
            columns.append("deleted_at")
        else:
            rows = rows.filter(deleted_at__isnull=True)
        items = (dict(zip(columns, row, strict=True)) for row in _pages(rows, [_FIELDS[c] for c in columns]))
        if options["format"] == "json":
            self.write_json(items)
        else:
            self.write_csv(items, columns)

    def write_json(self, items: Any) -> None:
        out = self.stdout
        out.write("[", ending="")
        for index, item in enumerate(items):
            out.write(("\n" if index == 0 else ",\n") + json.dumps(item, default=_iso, sort_keys=True), ending="")
        out.write("\n]")

    def write_csv(self, items: Any, columns: list[str]) -> None:
        writer = csv.writer(_Lines(self.stdout), lineterminator="\n")
        writer.writerow(columns)
        for item in items:
            writer.writerow(
                [
                    json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else _iso(value) or ""
                    for value in (item[column] for column in columns)
                ]
            )


def _pages(rows: Any, fields: list[str]) -> Any:
    """Rows a page at a time, by primary key (keyset pagination).

    ``QuerySet.iterator()`` alone is not enough: MySQL drivers buffer the whole result set of a
    query in memory, so the inventory is read in pages of ``CHUNK`` rows instead.
    """
    last = 0
    while True:
        page = list(rows.filter(pk__gt=last).order_by("pk").values_list("pk", *fields)[:CHUNK])
        for row in page:
            yield row[1:]
        if len(page) < CHUNK:
            return
        last = page[-1][0]


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


class _Lines:
    """csv.writer target writing through the command's stdout wrapper."""

    def __init__(self, stdout: Any) -> None:
        self.stdout = stdout

    def write(self, text: str) -> None:
        self.stdout.write(text, ending="")

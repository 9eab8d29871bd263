"""Streamed CSV / JSON downloads (inventory, audit log): rows are written as they are read, so an
export of a million rows never sits in memory."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse

FORMATS = ("csv", "json")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> object:
    # Nested values (tags, details) go into one CSV cell as stable JSON.
    return json.dumps(value, sort_keys=True, cls=DjangoJSONEncoder) if isinstance(value, (dict, list)) else value


def streaming_export(rows: Iterable[dict], header: list[str], fmt: str, filename: str) -> StreamingHttpResponse:
    """A download of ``rows`` (dicts) as CSV with ``header`` for columns, or as a JSON array of the full rows."""
    if fmt not in FORMATS:
        raise ValueError(f"export format must be one of {', '.join(FORMATS)}")
    if fmt == "json":

        def lines():
            yield "["
            for index, row in enumerate(rows):
                yield ("," if index else "") + json.dumps(row, cls=DjangoJSONEncoder)
            yield "]"

        response = StreamingHttpResponse(lines(), content_type="application/json")
    else:
        writer = csv.writer(_Echo())

        def lines():
            yield writer.writerow(header)
            for row in rows:
                yield writer.writerow([_cell(row[name]) for name in header])

        response = StreamingHttpResponse(lines(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response

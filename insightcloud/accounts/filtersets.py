"""The audit log's filter (who, what, time range), shared by the Audit page and the API."""

from __future__ import annotations

import django_filters

from insightcloud.accounts.models import AuditEvent

#: Export column -> model field. The CSV has these columns; the JSON export these keys (details as an object).
EXPORT_FIELDS = {
    "time": "created_at",
    "actor": "actor_name",
    "action": "action",
    "target": "target",
    "address": "source_address",
    "details": "details",
}
EXPORT_COLUMNS = list(EXPORT_FIELDS)


class AuditEventFilterSet(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor_name", label="Who (user name)")
    action = django_filters.CharFilter(field_name="action", lookup_expr="startswith", label="Action starts with")
    target = django_filters.CharFilter(field_name="target", lookup_expr="icontains", label="Target contains")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", label="From (ISO time)")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label="Until (ISO time)")

    class Meta:
        model = AuditEvent
        fields: list[str] = []


def export_rows(events):  # noqa: ANN001, ANN201
    """The events as export rows, read in chunks."""
    for row in events.values(*EXPORT_FIELDS.values()).iterator(chunk_size=2000):
        yield {column: row[field] for column, field in EXPORT_FIELDS.items()}


def export_events(request, events, fmt: str):  # noqa: ANN001, ANN201
    """Download ``events`` as CSV or JSON (GUI and API); the export is itself recorded."""
    from insightcloud.accounts import audit
    from insightcloud.exports import streaming_export

    filters = {key: value for key, value in request.GET.items() if key != "export"}
    recorded = audit.record("audit.export", request=request, format=fmt, filters=filters)
    # The rows are read after this event is written; the export shows what was there when asked.
    return streaming_export(export_rows(events.filter(pk__lt=recorded.pk)), EXPORT_COLUMNS, fmt, "audit")

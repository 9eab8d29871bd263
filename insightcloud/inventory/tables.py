"""The inventory table (django-tables2): sortable columns, a user picks which to show."""

from __future__ import annotations

import django_tables2 as tables

from insightcloud.inventory.models import Resource

DEFAULT_COLUMNS = ("name", "resource_type", "region", "cloud", "last_seen")


class ResourceTable(tables.Table):
    name = tables.Column(linkify=lambda record: f"/resources/{record.pk}", empty_values=(), order_by=("name",))
    resource_type = tables.Column(verbose_name="Type")
    native_type = tables.Column(verbose_name="Native type")
    region = tables.Column()
    cloud = tables.Column(accessor="cloud__name", verbose_name="Cloud", order_by=("cloud__name",))
    account_id = tables.Column(accessor="cloud__account_id", verbose_name="Account", orderable=False)
    native_id = tables.Column(verbose_name="Resource id")
    first_seen = tables.DateTimeColumn(format="Y-m-d H:i")
    last_seen = tables.DateTimeColumn(format="Y-m-d H:i")

    class Meta:
        model = Resource
        fields = ("name", "resource_type", "native_type", "region", "cloud", "account_id", "native_id")
        sequence = ("name", "resource_type", "native_type", "region", "cloud", "account_id", "native_id")
        attrs = {"class": "table", "id": "inventory-table"}
        order_by = ("name",)

    def render_name(self, record: Resource) -> str:
        return record.name or record.native_id

    @classmethod
    def optional_columns(cls) -> list[str]:
        return list(cls.base_columns)

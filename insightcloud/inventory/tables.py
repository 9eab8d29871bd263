"""The inventory table (django-tables2): sortable columns, a user picks which to show."""

from __future__ import annotations

import django_tables2 as tables

from insightcloud.inventory.models import Resource

DEFAULT_COLUMNS = ("name", "resource_type", "region", "cloud", "last_seen")


class ResourceTable(tables.Table):
    # Cells are rendered by the inventory_cell template tag (fast); these define headers and sorting.
    name = tables.Column(empty_values=(), order_by=("name",))
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
        order_by = ("name",)

    @classmethod
    def optional_columns(cls) -> list[str]:
        return list(cls.base_columns)

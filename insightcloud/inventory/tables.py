"""The inventory table (django-tables2): sortable columns, a user picks which to show."""

from __future__ import annotations

import django_tables2 as tables
from django.db.models import QuerySet
from django_tables2.paginators import LazyPaginator
from django_tables2.rows import BoundRows

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


class DeferredJoinPaginator(LazyPaginator):
    """LazyPaginator whose pages read the ids from the ordering index first, then only those rows.

    ``OFFSET 25000`` over whole rows reads (and pulls into the buffer pool) 25,000 wide rows with
    their JSON; over the secondary index that serves the ordering it reads ids only (InnoDB keeps
    the primary key in every index), so page 500 costs about what page 1 does.
    """

    def page(self, number):  # noqa: ANN001, ANN201
        rows = self.object_list  # the table's BoundRows, over its TableQuerysetData, over the QuerySet
        queryset = getattr(getattr(rows, "data", None), "data", None)
        if isinstance(rows, BoundRows) and isinstance(queryset, QuerySet):
            self.object_list = _IdsFirst(rows, queryset)
        try:
            return super().page(number)
        finally:
            self.object_list = rows


class _IdsFirst:
    """Slicing gives the slice's rows by an id query plus a primary-key lookup, in order."""

    def __init__(self, rows: BoundRows, queryset: QuerySet) -> None:
        self.rows, self.queryset = rows, queryset

    def __getitem__(self, key: slice) -> BoundRows:
        ids = list(self.queryset.values_list("pk", flat=True)[key])
        by_id = self.queryset.order_by().in_bulk(ids) if ids else {}
        records = [by_id[pk] for pk in ids if pk in by_id]
        return BoundRows(data=records, table=self.rows.table, pinned_data=self.rows.pinned_data)

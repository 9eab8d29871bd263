"""The inventory's pages: the right rows in the right order on deep pages, with a next-page link
while there is more (the paginator reads a page's ids from the index first, then those rows)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from insightcloud.inventory.models import Resource
from tests.web.conftest import gui, make_resource

pytestmark = pytest.mark.django_db


def names_on(page: str) -> list[str]:
    return re.findall(r'<a href="/resources/\d+">([^<]+)</a>', page)


def test_deep_pages_list_the_next_rows_in_order_and_only_the_visible_ones(users, estate):
    for number in range(120):
        make_resource(estate["prod"], f"arn:aws:s3:::bulk-{number:03d}", name=f"bulk-{number:03d}")
    make_resource(estate["globex"], "arn:aws:s3:::bulk-globex", name="bulk-050x")  # another organization's
    Resource.objects.filter(native_id="arn:aws:s3:::bulk-007").update(deleted_at="2026-01-01T00:00:00Z")
    client = gui(users["member"])  # a role on acme-prod only

    visible = Resource.objects.filter(cloud=estate["prod"], deleted_at=None, name__startswith="bulk")
    expected = sorted(visible.values_list("name", flat=True))
    seen = []
    for number in (1, 2, 3):
        page = client.get(f"/inventory/?q=bulk&page={number}").content.decode()
        seen += names_on(page)
        assert ("page=" + str(number + 1) in page) == (number < 3)
    assert seen == expected and len(seen) == 119
    assert names_on(client.get("/inventory/?q=bulk&page=3&sort=-name").content.decode()) == expected[::-1][100:]


def test_a_deep_page_offsets_over_ids_only(users, estate):
    for number in range(60):
        make_resource(estate["prod"], f"arn:aws:s3:::deep-{number:03d}", name=f"deep-{number:03d}")
    with CaptureQueriesContext(connection) as queries:
        page = gui(users["admin"]).get("/inventory/?q=deep&page=2").content.decode()
    assert names_on(page) == [f"deep-{number:03d}" for number in range(50, 60)]
    offsets = [query["sql"] for query in queries if "OFFSET" in query["sql"] and "inventory_resource" in query["sql"]]
    assert offsets, "the page is read with an OFFSET query"
    for sql in offsets:  # no wide columns are read past the offset: only the ids
        selected = sql.split(" FROM ")[0].replace("`", "").replace('"', "")
        assert re.fullmatch(r"SELECT inventory_resource\.id( AS pk)?", selected), sql

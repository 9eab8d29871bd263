"""The dashboard's resource counts for whole-cloud users come from per-cloud counts cached under
the cloud's inventory version: unchanged clouds are not counted again, changes show at once."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from insightcloud.inventory.models import Resource
from tests.web.conftest import gui, make_resource

pytestmark = pytest.mark.django_db


def total(client) -> tuple[int, list[str]]:  # noqa: ANN001
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/").content.decode()
    counted = [
        q["sql"]
        for q in queries
        if "COUNT" in q["sql"] and "`resource_type`, `inventory_resource`.`region`" in q["sql"]
    ]
    return int(re.search(r'id="resource-total">(\d+)<', page).group(1)), counted


def test_counts_are_reused_until_the_clouds_inventory_changes(users, estate):
    client = gui(users["org_admin"])  # sees Acme's two clouds whole
    first, counted = total(client)
    assert first == 2 and len(counted) == 2  # each cloud counted once

    again, counted = total(client)
    assert again == 2 and counted == []  # nothing changed: no count query

    make_resource(estate["dev"], "arn:aws:s3:::acme-dev-new", name="acme-dev-new")
    after_create, counted = total(client)
    assert after_create == 3 and len(counted) == 1  # only the changed cloud is counted again

    Resource.objects.filter(native_id="arn:aws:s3:::acme-dev-new").update(
        deleted_at=timezone.now(), updated_at=timezone.now()
    )
    assert total(client)[0] == 2


def test_a_harvest_ending_refreshes_the_counts_of_its_cloud(users, estate):
    client = gui(users["admin"])
    assert total(client)[0] == 3
    stamp = Resource.objects.filter(cloud=estate["prod"]).latest("updated_at").updated_at
    # A row written by a running harvest with the same timestamp as an earlier batch …
    make_resource(estate["prod"], "arn:aws:s3:::acme-prod-more", name="acme-prod-more", updated_at=stamp)
    estate["prod"].last_harvest_at = timezone.now()  # … shows once that harvest has ended
    estate["prod"].save(update_fields=["last_harvest_at"])
    assert total(client)[0] == 4

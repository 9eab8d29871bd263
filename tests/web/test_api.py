"""The REST API: API keys, the inventory filter, cursor pagination, history, schema."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from insightcloud.accounts.models import ApiKey
from insightcloud.inventory.models import ResourceChange
from tests.web.conftest import make_resource

pytestmark = pytest.mark.django_db


def test_an_api_key_is_shown_once_stored_hashed_and_revocable(users):
    session = APIClient()
    session.force_authenticate(users["member"])
    created = session.post("/api/v1/api-keys/", {"name": "ci"}, format="json")
    assert created.status_code == 201
    plain = created.json()["key"]
    stored = ApiKey.objects.get()
    assert plain not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
    assert "key" not in session.get("/api/v1/api-keys/").json()["results"][0]

    with_key = APIClient(HTTP_AUTHORIZATION=f"Api-Key {plain}")
    assert with_key.get("/api/v1/clouds/").status_code == 200
    assert APIClient(HTTP_X_API_KEY=plain).get("/api/v1/clouds/").status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None

    session.post(f"/api/v1/api-keys/{stored.pk}/revoke/")
    refused = APIClient(HTTP_AUTHORIZATION=f"Api-Key {plain}").get("/api/v1/clouds/")
    assert refused.status_code == 401
    assert refused.json() == {"error": "invalid or revoked API key"}


def test_resources_filter_like_the_inventory_page(users, estate):
    client = APIClient()
    client.force_authenticate(users["admin"])
    by_tag = client.get("/api/v1/resources/", {"tag": "env=prod"}).json()["results"]
    assert [r["resource_id"] for r in by_tag] == ["arn:aws:s3:::acme-prod-logs"]
    by_search = client.get("/api/v1/resources/", {"q": "arn:aws:s3:::globex"}).json()["results"]
    assert [r["cloud_name"] for r in by_search] == ["globex-prod"]
    by_cloud = client.get("/api/v1/resources/", {"cloud_name": "acme-dev"}).json()["results"]
    assert len(by_cloud) == 1


def test_deleted_resources_are_hidden_unless_asked_for(users, estate):
    estate["dev_bucket"].deleted_at = timezone.now()
    estate["dev_bucket"].save()
    client = APIClient()
    client.force_authenticate(users["admin"])
    assert len(client.get("/api/v1/resources/").json()["results"]) == 2
    assert len(client.get("/api/v1/resources/", {"include_deleted": "true"}).json()["results"]) == 3


def test_the_cursor_walks_every_resource_once(users, estate):
    for n in range(25):
        make_resource(estate["prod"], f"arn:aws:s3:::bulk-{n:02d}")
    client = APIClient()
    client.force_authenticate(users["admin"])
    seen, url = [], "/api/v1/resources/?page_size=7"
    while url:
        page = client.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 28


def test_resource_detail_has_raw_and_history(users, estate):
    bucket = estate["prod_bucket"]
    ResourceChange.objects.create(
        resource=bucket, cloud=bucket.cloud, change_type="modified", diff={"public": [False, True]}
    )
    client = APIClient()
    client.force_authenticate(users["admin"])
    body = client.get(f"/api/v1/resources/{bucket.pk}/").json()
    assert body["history"][0]["diff"] == {"public": [False, True]}
    assert "raw" in body


def test_the_openapi_schema_is_served(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/v1/resources/" in response.content.decode()

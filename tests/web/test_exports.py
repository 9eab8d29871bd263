"""Streamed CSV/JSON downloads: the inventory's current filter, limited to what the user may see."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def download(user, url: str, params: dict):  # noqa: ANN001, ANN201
    client = Client()
    client.force_login(user)
    response = client.get(url, params)
    return response, b"".join(response.streaming_content).decode()


def test_the_inventory_exports_its_filter_as_csv_and_json(users, estate):
    response, text = download(users["member"], "/inventory/", {"export": "csv"})
    rows = list(csv.DictReader(io.StringIO(text)))
    assert response["Content-Disposition"] == 'attachment; filename="inventory.csv"'
    assert [(r["resource_id"], r["cloud_name"], json.loads(r["tags"])) for r in rows] == [
        ("arn:aws:s3:::acme-prod-logs", "acme-prod", {"env": "prod"})
    ]
    response, text = download(users["admin"], "/inventory/", {"export": "json", "tag": "env=dev"})
    assert response["Content-Type"] == "application/json"
    assert [(r["resource_id"], r["tags"]) for r in json.loads(text)] == [
        ("arn:aws:s3:::acme-dev-scratch", {"env": "dev"})
    ]

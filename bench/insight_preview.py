"""Benchmark the insight builder's preview (not a test).

    DIVVY_DB_HOST=127.0.0.1 ... python bench/insight_preview.py [--resources 100000]

Loads N storage containers into one AWS cloud, then times ``compliance.editor.preview`` (what the
builder runs on every pause in typing, over at most ``PREVIEW_SCAN_LIMIT`` resources) for a
property check and for a named filter. Baseline: the one SQL query that counts the same property
check inside MariaDB (``JSON_EXTRACT``), the floor of any approach that reads every row.
Last line: ``BENCH insight_preview resources=N property_ms=… named_ms=… raw_sql_ms=… vs_raw_sql=…``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insightcloud.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from compliance.editor import PREVIEW_SCAN_LIMIT, preview  # noqa: E402
from compliance.schema import parse_insight  # noqa: E402
from insightcloud.inventory.models import CloudAccount, Organization, Resource  # noqa: E402

BASE = {
    "name": "bench",
    "description": "bench",
    "remediation": "bench",
    "severity": "low",
    "resource_types": ["storage_container"],
    "clouds": ["aws"],
}
PROPERTY = parse_insight(
    {**BASE, "id": "bench-unversioned", "filters": [{"key": "versioning_enabled", "op": "eq", "value": False}]}
)
NAMED = parse_insight({**BASE, "id": "bench-public-policy", "filters": [{"policy-allows-public-principal": {}}]})


def bucket(rng: random.Random) -> dict:
    principal = "*" if rng.random() < 0.03 else {"AWS": "arn:aws:iam::123456789012:root"}
    return {
        "public": rng.random() < 0.05,
        "public_reasons": [],
        "encrypted": rng.random() < 0.9,
        "kms_key_id": None,
        "versioning_enabled": rng.random() < 0.7,
        "logging_enabled": rng.random() < 0.5,
        "https_only": None,
        "public_access_block": rng.random() < 0.8,
        "policy": {"Statement": [{"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject"}]},
    }


def best_ms(runs: int, fn) -> float:  # noqa: ANN001
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=PREVIEW_SCAN_LIMIT)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    org, _ = Organization.objects.get_or_create(slug="bench-preview", defaults={"name": "Bench preview"})
    old = CloudAccount.objects.filter(organization=org, name="bench-preview").first()
    if old:
        Resource.objects.filter(cloud=old)._raw_delete(Resource.objects.db)
        old.delete()
    cloud = CloudAccount.objects.create(
        organization=org, provider="aws", name="bench-preview", account_id="123456789012", auth_type="role"
    )
    rng = random.Random(7)
    Resource.objects.bulk_create(
        (
            Resource(
                cloud=cloud,
                provider="aws",
                resource_type="storage_container",
                native_type="aws.s3.bucket",
                region="us-east-1",
                native_id=f"arn:aws:s3:::bench-{i}",
                name=f"bench-{i}",
                properties=bucket(rng),
                fingerprint=str(i),
            )
            for i in range(args.resources)
        ),
        batch_size=2000,
    )
    resources = Resource.objects.filter(cloud=cloud)
    print(f"inserted {args.resources} storage containers (not timed)")

    result = preview(PROPERTY, resources)
    property_ms = best_ms(3, lambda: preview(PROPERTY, resources))
    print(f"preview, property check: {result.total} of {result.scanned} fail, {property_ms:.0f} ms")
    named = preview(NAMED, resources)
    named_ms = best_ms(3, lambda: preview(NAMED, resources))
    print(f"preview, named filter:   {named.total} of {named.scanned} fail, {named_ms:.0f} ms")

    sql = (
        "SELECT COUNT(*) FROM inventory_resource WHERE cloud_id = %s AND resource_type = 'storage_container' "
        "AND deleted_at IS NULL AND JSON_EXTRACT(properties, '$.versioning_enabled') = false"
    )

    def raw() -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, [cloud.pk])
            return cursor.fetchone()[0]

    raw_count = raw()
    raw_ms = best_ms(3, raw)
    print(f"baseline, one SQL count: {raw_count} fail, {raw_ms:.0f} ms (the database alone, no Python)")
    assert raw_count == result.total, "the preview and the SQL count disagree"
    Resource.objects.filter(cloud=cloud)._raw_delete(Resource.objects.db)
    cloud.delete()
    print(
        f"BENCH insight_preview resources={args.resources} property_ms={property_ms:.0f} named_ms={named_ms:.0f} "
        f"raw_sql_ms={raw_ms:.0f} vs_raw_sql={property_ms / raw_ms:.1f}"
    )


if __name__ == "__main__":
    main()

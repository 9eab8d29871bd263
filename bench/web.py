"""Benchmark: the inventory page and the resources API over a large inventory in MariaDB.

Loads N resources (default 1,000,000; ``--resources``) into a cloud of a "bench" organization
(and open findings for 10% of them, their resources' has-findings flag set by the UPDATE that
evaluation runs), then measures server-side response times through Django's request handling
(no network) of:

- the inventory page: first page, a filtered page, resources with findings, a text search, page 500;
- the resources API walked with its cursor (resources/s);
- the dashboard (all its charts' aggregates), printed on its own line;

against the raw SQL each page needs, run on the same connection. Prints each figure beside its
baseline; the last line is ``BENCH web …``. The data is kept between runs (``--reload`` rebuilds).

    DIVVY_DB_HOST=127.0.0.1 … .venv/bin/python bench/web.py [--resources 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insightcloud.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from compliance.models import Finding  # noqa: E402
from insightcloud.accounts.models import AccessLevel, User  # noqa: E402
from insightcloud.inventory.models import CloudAccount, Organization, Resource  # noqa: E402

TYPES = [
    ("instance", "aws.ec2.instance"),
    ("security_group", "aws.ec2.security_group"),
    ("volume", "aws.ec2.volume"),
    ("storage_container", "aws.s3.bucket"),
    ("service_user", "aws.iam.user"),
    ("encryption_key", "aws.kms.key"),
    ("database_instance", "aws.rds.db_instance"),
    ("serverless_function", "aws.lambda.function"),
]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1"]
BATCH = 5000
REPEAT = 20


def load(count: int, reload: bool) -> CloudAccount:
    organization, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    cloud, _ = CloudAccount.objects.get_or_create(
        organization=organization,
        name="bench-cloud",
        defaults={"provider": "aws", "account_id": "123456789012", "auth_type": "keys"},
    )
    existing = Resource.objects.filter(cloud=cloud).count()
    if existing == count and not reload:
        print(f"reusing {existing} resources")
        return cloud
    print(f"loading {count} resources …", flush=True)
    Resource.objects.filter(cloud=cloud).delete()
    now = timezone.now().replace(tzinfo=None)
    sql = (
        "INSERT INTO inventory_resource (cloud_id, provider, resource_type, native_type, region, native_id, name, "
        "properties, raw, tags, fingerprint, first_seen, last_seen, updated_at) "
        "VALUES (%s, 'aws', %s, %s, %s, %s, %s, %s, '{}', %s, 'x', %s, %s, %s)"
    )
    started = time.perf_counter()
    for offset in range(0, count, BATCH):
        rows = []
        for n in range(offset, min(offset + BATCH, count)):
            resource_type, native_type = TYPES[n % len(TYPES)]
            region = REGIONS[(n // len(TYPES)) % len(REGIONS)]
            name = f"{resource_type.replace('_', '-')}-{n:07d}"
            properties = json.dumps({"public": n % 10 == 0, "encrypted": n % 3 != 0, "state": "running"})
            tags = json.dumps({"env": ["prod", "dev", "test"][n % 3], "team": f"team-{n % 40}"})
            rows.append(
                (
                    cloud.pk,
                    resource_type,
                    native_type,
                    region,
                    f"arn:aws:bench:{region}:{n:07d}",
                    name,
                    properties,
                    tags,
                    now,
                    now,
                    now,
                )
            )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows)
    print(f"loaded in {time.perf_counter() - started:.1f}s")
    load_findings(cloud)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE inventory_resource")
    return cloud


def load_findings(cloud: CloudAccount) -> None:
    """An open finding on every tenth resource, written in one INSERT … SELECT; then their resources'
    has-findings flag, set set-wise by the function evaluation calls after writing findings."""
    from compliance.findings_flag import refresh

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_finding WHERE cloud_id = %s", [cloud.pk])
        cursor.execute(
            "INSERT INTO compliance_finding (cloud_id, resource_id, insight_id, severity, status, first_seen, "
            "last_seen, reopened_count) SELECT cloud_id, id, 'storage-container-public', 'high', 'open', "
            "first_seen, last_seen, 0 FROM inventory_resource WHERE cloud_id = %s AND id %% 10 = 0",
            [cloud.pk],
        )
        print(f"loaded {cursor.rowcount} findings")
    started = time.perf_counter()
    ids = Finding.objects.filter(cloud=cloud, status="open").values_list("resource_id", flat=True)
    flagged = refresh(list(ids))
    print(f"flagged {flagged} resources with findings in {time.perf_counter() - started:.1f}s")


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]


def timed(call) -> list[float]:  # noqa: ANN001
    call()  # warm caches once
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def page(client: Client, query: str):  # noqa: ANN201
    def call() -> None:
        response = client.get(f"/inventory/?{query}")
        assert response.status_code == 200, response.status_code
        assert b"inventory-table" in response.content

    return call


def raw(sql: str, params: list):  # noqa: ANN001, ANN201
    def call() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    return call


# The least a page needs: the page's rows in name order (cloud names are a handful of rows).
LIST_SQL = (
    "SELECT r.id, r.cloud_id, r.name, r.native_id, r.resource_type, r.native_type, r.region, r.last_seen "
    "FROM inventory_resource r WHERE r.deleted_at IS NULL {where} ORDER BY r.name LIMIT 51 OFFSET {offset}"
)


def dashboard(client: Client):  # noqa: ANN201
    def call() -> None:
        response = client.get("/")
        assert response.status_code == 200, response.status_code
        assert b"resources-by-type-data" in response.content

    return call


DASHBOARD_SQL = [
    # Per cloud, and per type and region (from which the total): the least that draws the resource charts.
    "SELECT cloud_id, COUNT(*) FROM inventory_resource WHERE deleted_at IS NULL GROUP BY cloud_id",
    "SELECT resource_type, region, COUNT(*) FROM inventory_resource WHERE deleted_at IS NULL "
    "GROUP BY resource_type, region",
    "SELECT severity, COUNT(*) FROM compliance_finding WHERE status = 'open' GROUP BY severity",
    "SELECT insight_id, COUNT(*) n FROM compliance_finding WHERE status = 'open' GROUP BY insight_id "
    "ORDER BY n DESC LIMIT 10",
    "SELECT pack_id, SUM(passed), SUM(failed), SUM(exempted) FROM compliance_scorecard GROUP BY pack_id",
    "SELECT pack_id, date, SUM(passed), SUM(failed), SUM(exempted) FROM compliance_dailyscore "
    "WHERE date > CURRENT_DATE - INTERVAL 30 DAY GROUP BY pack_id, date",
    "SELECT status, COUNT(*) FROM inventory_cloudaccount GROUP BY status",
]


def dashboard_sql() -> None:
    with connection.cursor() as cursor:
        for sql in DASHBOARD_SQL:
            cursor.execute(sql)
            cursor.fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1_000_000)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--walk", type=int, default=100_000, help="resources to walk through the API")
    options = parser.parse_args()
    if connection.vendor != "mysql":
        sys.exit("bench/web.py measures MariaDB/MySQL: set DIVVY_DB_HOST and friends")

    load(options.resources, options.reload)
    admin, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"access_level": AccessLevel.DOMAIN_ADMIN, "is_superuser": True}
    )
    client = Client()
    client.force_login(admin)

    cases = {
        "inventory": (page(client, ""), raw(LIST_SQL.format(where="", offset=0), [])),
        "filtered": (
            page(client, "resource_type=instance&region=eu-west-1"),
            raw(LIST_SQL.format(where="AND r.resource_type=%s AND r.region=%s", offset=0), ["instance", "eu-west-1"]),
        ),
        "has_findings": (
            page(client, "has_findings=true"),
            raw(
                LIST_SQL.format(where="AND r.has_open_findings = 1", offset=0),
                [],
            ),
        ),
        "search": (
            page(client, "q=volume-00042"),
            raw(
                LIST_SQL.format(where="AND (r.name LIKE %s OR r.native_id LIKE %s)", offset=0),
                ["volume-00042%", "volume-00042%"],
            ),
        ),
        "deep_page": (page(client, "page=500"), raw(LIST_SQL.format(where="", offset=499 * 50), [])),
    }
    results, ratios = {}, []
    for name, (through_app, baseline) in cases.items():
        app_p95, raw_p95 = p95(timed(through_app)), p95(timed(baseline))
        results[name] = app_p95
        ratios.append(app_p95 / raw_p95)
        print(f"{name:10s} p95 {app_p95:8.1f} ms   raw SQL p95 {raw_p95:7.1f} ms   ratio {app_p95 / raw_p95:5.1f}")

    # The dashboard (every chart's figures), against the raw GROUP BY queries it needs. Not in vs_raw_sql:
    # it is a set of aggregates over the whole inventory, not a page.
    # Resource counts are cached per cloud until its inventory changes: the first view after a
    # change (cold) counts again, the others (p95) reuse them.
    from django.core.cache import cache

    cache.clear()
    started = time.perf_counter()
    dashboard(client)()
    dashboard_cold = (time.perf_counter() - started) * 1000
    dashboard_p95, dashboard_raw_p95 = p95(timed(dashboard(client))), p95(timed(dashboard_sql))
    print(
        f"dashboard  p95 {dashboard_p95:8.1f} ms   raw SQL p95 {dashboard_raw_p95:7.1f} ms   "
        f"ratio {dashboard_p95 / dashboard_raw_p95:5.1f}   (first view after a change: {dashboard_cold:.0f} ms)"
    )

    # The API walked with its cursor, against the raw keyset query of the same pages.
    walked, url, started = 0, "/api/v1/resources/?page_size=1000", time.perf_counter()
    while url and walked < options.walk:
        body = client.get(url).json()
        walked += len(body["results"])
        url = body["next"]
    api_rps = walked / (time.perf_counter() - started)
    last_id, raw_walked, started = 0, 0, time.perf_counter()
    with connection.cursor() as cursor:
        while raw_walked < walked:
            # The page's rows by primary key (the cloud names are a few rows, read once like the API does).
            cursor.execute(
                "SELECT r.id, r.cloud_id, r.native_id, r.name, r.resource_type, r.native_type, r.provider, "
                "r.region, r.tags, r.properties, r.first_seen, r.last_seen, r.deleted_at FROM inventory_resource r "
                "WHERE r.id > %s AND r.deleted_at IS NULL ORDER BY r.id LIMIT 1000",
                [last_id],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            raw_walked += len(rows)
            last_id = rows[-1][0]
    raw_rps = raw_walked / (time.perf_counter() - started)
    print(f"api walk  {api_rps:8.0f} resources/s   raw SQL {raw_rps:8.0f} rows/s   over {walked} resources")

    print(
        f"BENCH web resources={options.resources} inventory_p95_ms={results['inventory']:.1f} "
        f"filtered_p95_ms={results['filtered']:.1f} has_findings_p95_ms={results['has_findings']:.1f} "
        f"search_p95_ms={results['search']:.1f} "
        f"deep_page_p95_ms={results['deep_page']:.1f} api_rps={api_rps:.0f} "
        f"vs_raw_sql={statistics.mean(ratios):.1f}x"
    )


if __name__ == "__main__":
    main()

"""Benchmark: AWS harvesting against moto, and the sync pipeline against raw INSERTs.

    DIVVY_DB_HOST=127.0.0.1 ... python bench/harvest_aws.py [--resources 5000] [--synthetic 100000]
    (--resources 0: the synthetic part alone, no moto)

1. Seeds a moto server (its own process) with a mixed EC2 estate of at least ``--resources``
   resources over two regions (security groups, volumes, instances, subnets, snapshots …).
2. (a) floor: the bare boto3 enumeration of the same calls the harvest makes, with the same
   thread pool, results discarded; (b) the full harvest of that estate into the database.
3. A synthetic ingest of ``--synthetic`` records straight into ``sync_listing`` against a raw
   ``executemany`` INSERT of the same rows (JSON already serialized: the database's ceiling),
   then an unchanged re-harvest of them.
4. Peak RSS of this process after the estate harvest and after the synthetic ingest (the
   pipeline holds one batch at a time, so both should be about the same).

Targets (2-core machine): harvest/floor <= 1.3; ingest >= 0.7 x raw insert rate; unchanged
re-harvest >= 30,000 resources/s; peak memory independent of estate size.
Last line: ``BENCH harvest_aws resources=N floor_s=… harvest_s=… ratio=… ingest_rps=…
raw_insert_rps=… reharvest_rps=… peak_rss_mb=…``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insightcloud.settings")
os.environ["INSIGHTCLOUD_DEBUG"] = "false"  # no query log growing in memory

REGIONS = ["us-east-1", "eu-west-1"]
TYPES = [
    "aws.ec2.instance",
    "aws.ec2.security_group",
    "aws.ec2.vpc",
    "aws.ec2.subnet",
    "aws.ec2.volume",
    "aws.ec2.snapshot",
    "aws.ec2.image",
]
KEYS = {"aws_access_key_id": "AKIABENCHBENCHBENCH0", "aws_secret_access_key": "bench-secret"}
MOTO_AMI = "ami-03cf127a"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_database() -> None:
    """The bench database (DIVVY_DB_NAME) exists and is migrated."""
    if os.environ.get("DIVVY_DB_HOST"):
        import MySQLdb

        connection = MySQLdb.connect(
            host=os.environ["DIVVY_DB_HOST"],
            user=os.environ.get("DIVVY_DB_USERNAME", "divvy"),
            passwd=os.environ.get("DIVVY_DB_PASSWORD", ""),
            port=int(os.environ.get("DIVVY_DB_PORT", 3306)),
        )
        name = os.environ.get("DIVVY_DB_NAME", "divvycloud")
        connection.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
        connection.close()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


# --- moto -----------------------------------------------------------------------------------


def start_moto() -> tuple[subprocess.Popen, str]:
    from tests.processes import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=2)
            return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("moto server did not start")


def client(url: str, service: str, region: str):  # noqa: ANN201
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=url, **KEYS)


def seed(url: str, resources: int) -> None:
    """A mixed estate, half in each region."""
    per_region = resources // len(REGIONS)
    for region in REGIONS:
        ec2 = client(url, "ec2", region)
        kms = client(url, "kms", region)
        key = kms.create_key()["KeyMetadata"]["Arn"]
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"{region}a")["Subnet"]
            for n in range(per_region // 50)
        ]
        subnets = [subnet["SubnetId"] for subnet in subnets]
        budget = {"instances": per_region * 25 // 100, "groups": per_region * 30 // 100, "snapshots": 20, "images": 5}
        groups = []
        for n in range(budget["groups"]):
            office = f"203.0.{n % 250}.0/24"
            group = ec2.create_security_group(GroupName=f"sg-{n}", Description=f"group {n}", VpcId=vpc)["GroupId"]
            ec2.authorize_security_group_ingress(
                GroupId=group,
                IpPermissions=[
                    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
                    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": office}]},
                ],
            )
            groups.append(group)
        launched = 0
        while launched < budget["instances"]:
            count = min(50, budget["instances"] - launched)  # a /24 subnet holds 251 addresses
            ec2.run_instances(
                ImageId=MOTO_AMI,
                MinCount=count,
                MaxCount=count,
                InstanceType="t3.micro",
                SubnetId=subnets[launched // 50 % len(subnets)],
                SecurityGroupIds=[groups[launched % len(groups)]],
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": f"t{launched}"}]}],
            )
            launched += count
        # Each instance also has a root volume (moto makes one as AWS does); volumes fill the rest.
        made = len(subnets) + len(groups) + 2 * launched + budget["snapshots"] + budget["images"]
        volumes_left = max(budget["snapshots"], per_region - made)
        volumes = []
        for n in range(volumes_left):
            encrypted = n % 2 == 0
            extra = {"Encrypted": True, "KmsKeyId": key} if encrypted else {}
            volumes.append(ec2.create_volume(AvailabilityZone=f"{region}a", Size=1 + n % 50, **extra)["VolumeId"])
        for n in range(budget["snapshots"]):
            ec2.create_snapshot(VolumeId=volumes[n])
        instance = ec2.describe_instances(MaxResults=5)["Reservations"][0]["Instances"][0]["InstanceId"]
        for n in range(budget["images"]):
            ec2.create_image(InstanceId=instance, Name=f"image-{n}")


# --- floor: the same calls, results discarded -------------------------------------------------


def enumerate_type(url: str, native_type: str, region: str, account: str) -> int:
    """What the collector of ``native_type`` asks AWS, and nothing else."""
    import boto3

    from harvesters.aws.session import botocore_config

    def c(service: str):  # noqa: ANN202
        return boto3.client(service, region_name=region, endpoint_url=url, config=botocore_config(url), **KEYS)

    ec2 = c("ec2")
    count = 0

    def pages(operation: str, **params):  # noqa: ANN202
        return ec2.get_paginator(operation).paginate(**params, PaginationConfig={"PageSize": 500})

    if native_type == "aws.ec2.instance":
        for page in pages("describe_instances"):
            count += sum(len(r["Instances"]) for r in page["Reservations"])
    elif native_type == "aws.ec2.security_group":
        for page in pages("describe_security_groups"):
            count += len(page["SecurityGroups"])
    elif native_type in ("aws.ec2.vpc", "aws.ec2.subnet"):
        for _ in ec2.get_paginator("describe_flow_logs").paginate():
            pass
        operation, key = ("describe_vpcs", "Vpcs") if native_type == "aws.ec2.vpc" else ("describe_subnets", "Subnets")
        for page in pages(operation):
            count += len(page[key])
    elif native_type == "aws.ec2.volume":
        kms, keys = c("kms"), set()
        for page in pages("describe_volumes"):
            for volume in page["Volumes"]:
                count += 1
                if volume.get("KmsKeyId") and volume["KmsKeyId"] not in keys:
                    keys.add(volume["KmsKeyId"])
                    kms.describe_key(KeyId=volume["KmsKeyId"])
    elif native_type == "aws.ec2.snapshot":
        for page in pages("describe_snapshots", OwnerIds=["self"]):
            for snapshot in page["Snapshots"]:
                if snapshot["OwnerId"] == account:
                    count += 1
                    snapshot_id = snapshot["SnapshotId"]
                    ec2.describe_snapshot_attribute(SnapshotId=snapshot_id, Attribute="createVolumePermission")
    elif native_type == "aws.ec2.image":
        for page in pages("describe_images", Owners=["self"]):
            for image in page["Images"]:
                if image["OwnerId"] == account:
                    count += 1
                    ec2.describe_image_attribute(ImageId=image["ImageId"], Attribute="launchPermission")
    return count


def floor(url: str, account: str, workers: int) -> tuple[float, int]:
    from harvesters.base import resource_types_for
    from harvesters.harvest import _interleave

    pairs = _interleave(resource_types_for("aws", TYPES), REGIONS)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        counts = list(pool.map(lambda pair: enumerate_type(url, pair[0].native_type, pair[1], account), pairs))
    return time.perf_counter() - started, sum(counts)


# --- synthetic ingest ----------------------------------------------------------------------


TEMPLATES = 1000


def synthetic_records(count: int, region: str):  # noqa: ANN201
    """``count`` instance records; 1,000 distinct contents, each record its own id and name.

    Sharing the content dicts keeps making the records (the collector's work, not the
    pipeline's) nearly free, so the rates below are the pipeline's own; every record is still
    serialized, fingerprinted and written in full.
    """
    from harvesters.base import ResourceRecord

    templates = list(_distinct_records(min(count, TEMPLATES), region))
    for n in range(count):
        template = templates[n % len(templates)]
        yield ResourceRecord(
            "instance",
            "aws.ec2.instance",
            region,
            f"i-{n:017x}",
            f"host-{n}",
            template.properties,
            template.raw,
            template.tags,
        )


def _distinct_records(count: int, region: str):  # noqa: ANN202
    from harvesters.base import ResourceRecord

    launched = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for n in range(count):
        instance_id = f"i-{n:017x}"
        properties = {
            "state": "running" if n % 7 else "stopped",
            "instance_type": ("t3.micro", "m5.large", "c6g.xlarge")[n % 3],
            "image_id": f"ami-{n % 50:08x}",
            "public_ips": [f"54.{n % 250}.{n // 250 % 250}.{n % 200}"] if n % 5 == 0 else [],
            "private_ips": [f"10.{n % 250}.{n // 250 % 250}.{n % 200}"],
            "has_public_ip": n % 5 == 0,
            "security_groups": [f"sg-{n % 300:08x}", f"sg-{(n + 1) % 300:08x}"],
            "network_id": f"vpc-{n % 10:08x}",
            "subnet_id": f"subnet-{n % 100:08x}",
            "identity": f"arn:aws:iam::123456789012:instance-profile/app-{n % 20}" if n % 2 else None,
            "metadata_v2_required": n % 3 == 0,
            "launched_at": (launched + dt.timedelta(minutes=n)).isoformat(),
            "arn": f"arn:aws:ec2:{region}:123456789012:instance/{instance_id}",
            "availability_zone": f"{region}{'abc'[n % 3]}",
        }
        raw = {
            "InstanceId": instance_id,
            "InstanceType": properties["instance_type"],
            "LaunchTime": launched + dt.timedelta(minutes=n),
            "State": {"Code": 16, "Name": properties["state"]},
            "PrivateIpAddress": properties["private_ips"][0],
            "SubnetId": properties["subnet_id"],
            "VpcId": properties["network_id"],
            "SecurityGroups": [{"GroupId": g, "GroupName": g} for g in properties["security_groups"]],
            "Tags": [{"Key": "team", "Value": f"team-{n % 40}"}, {"Key": "Name", "Value": f"host-{n}"}],
            "BlockDeviceMappings": [
                {"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": f"vol-{n:017x}", "Status": "attached"}}
            ],
        }
        yield ResourceRecord(
            resource_type="instance",
            native_type="aws.ec2.instance",
            region=region,
            native_id=instance_id,
            name=f"host-{n}",
            properties=properties,
            raw=raw,
            tags={"team": f"team-{n % 40}", "Name": f"host-{n}"},
        )


RAW_TABLE = "bench_raw_resource"


def raw_insert(cloud, count: int, region: str, batch: int = 1000) -> float:  # noqa: ANN001
    """executemany INSERT of the same rows, serialized beforehand, one batch in memory at a time.

    On MySQL/MariaDB the rows go to an empty copy of the resource table (same columns, indexes
    and checks), so that neither run pays for the other's rows or for purging them.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from harvesters.sync import _Listing, _prepare

    listing = _Listing(cloud, "aws.ec2.instance", region, None, timezone.now())
    insert_sql = listing.insert_sql
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
            cursor.execute(f"CREATE TABLE {RAW_TABLE} LIKE inventory_resource")
        insert_sql = insert_sql.replace(listing.resource_table, RAW_TABLE, 1)
    now = listing.db_now
    elapsed = 0.0
    records = synthetic_records(count, region)
    while True:
        rows = []
        for record in records:
            item = _prepare(record)
            rows.append(
                (cloud.pk, "aws", "instance", "aws.ec2.instance", region, record.native_id, item.name,
                 item.properties_json, item.raw_json, item.tags_json, item.fingerprint, now, now, now)
            )  # fmt: skip
            if len(rows) == batch:
                break
        if not rows:
            if connection.vendor == "mysql":
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP TABLE {RAW_TABLE}")
            return elapsed
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(insert_sql, rows)
        elapsed += time.perf_counter() - started


def clean(organization) -> None:  # noqa: ANN001
    """Remove earlier bench clouds with plain DELETEs (the ORM's cascade would load every row)."""
    from django.db import connection

    from insightcloud.inventory.models import CloudAccount

    ids = list(CloudAccount.objects.filter(organization=organization).values_list("id", flat=True))
    if not ids:
        return
    marks = ", ".join(["%s"] * len(ids))
    resources = f"SELECT id FROM inventory_resource WHERE cloud_id IN ({marks})"
    with connection.cursor() as cursor:
        # Other benches (compliance) may have evaluated the same organization's clouds.
        for table in ("compliance_finding", "compliance_exemption", "inventory_resourcegroup_resources"):
            cursor.execute(f"DELETE FROM {table} WHERE resource_id IN ({resources})", ids)
        cursor.execute(f"DELETE FROM inventory_resourcechange WHERE cloud_id IN ({marks})", ids)
        cursor.execute(f"DELETE FROM inventory_resource WHERE cloud_id IN ({marks})", ids)
    CloudAccount.objects.filter(id__in=ids).delete()


def bench_estate(organization, resources: int) -> dict:  # noqa: ANN001
    from django.db import connection

    from harvesters.harvest import MAX_WORKERS, harvest_cloud
    from insightcloud.inventory.models import CloudAccount

    process, url = start_moto()
    try:
        print(f"seeding moto ({url}) with about {resources} resources over {', '.join(REGIONS)} …")
        started = time.perf_counter()
        seed(url, resources)
        print(f"  seeded in {time.perf_counter() - started:.1f}s")
        account = client(url, "sts", "us-east-1").get_caller_identity()["Account"]
        cloud = CloudAccount.objects.create(
            organization=organization,
            provider="aws",
            name="Bench AWS",
            account_id=account,
            auth_type="keys",
            auth_settings={"endpoint_url": url},
            credentials={"access_key_id": KEYS["aws_access_key_id"], "secret_access_key": "bench-secret"},
            regions=REGIONS,
        )
        floor(url, account, MAX_WORKERS)  # warm moto's caches so neither run pays for them
        floor_s, floor_count = floor(url, account, MAX_WORKERS)
        started = time.perf_counter()
        report = harvest_cloud(cloud, types=TYPES)
        harvest_s = time.perf_counter() - started
        connection.close()
        assert not report.error and not report.errors, report.to_dict()
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)
    result = {
        "resources": report.totals().seen,
        "floor_s": floor_s,
        "harvest_s": harvest_s,
        "ratio": harvest_s / floor_s,
        "rss": peak_rss_mb(),
    }
    print(f"estate: {result['resources']} resources (floor saw {floor_count})")
    print(f"  (a) floor, bare boto3, same calls, same thread pool: {floor_s:.2f}s")
    print(f"  (b) full harvest into the database: {harvest_s:.2f}s   ratio {result['ratio']:.2f}  (target <= 1.3)")
    print(f"  peak RSS after the estate harvest: {result['rss']:.0f} MB")
    return result


def bench_synthetic(organization, count: int) -> dict:  # noqa: ANN001
    from django.db import connection

    from harvesters.sync import sync_listing
    from insightcloud.inventory.models import CloudAccount

    synthetic = CloudAccount.objects.create(
        organization=organization, provider="aws", name="Bench synthetic", account_id="123456789012", auth_type="keys"
    )
    raw_cloud = CloudAccount.objects.create(
        organization=organization, provider="aws", name="Bench raw", account_id="123456789012", auth_type="keys"
    )
    started = time.perf_counter()
    for _ in synthetic_records(count, "bench-1"):
        pass
    generate_s = time.perf_counter() - started  # included below (small): the records come from a generator
    raw_s = raw_insert(raw_cloud, count, "bench-1")
    if connection.vendor != "mysql":  # SQLite: same table; start the pipeline from where the raw run started
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM inventory_resource WHERE cloud_id = %s", [raw_cloud.pk])
    started = time.perf_counter()
    stats = sync_listing(synthetic, "aws.ec2.instance", "bench-1", synthetic_records(count, "bench-1"), complete=True)
    ingest_s = time.perf_counter() - started
    assert stats.created == count, stats
    started = time.perf_counter()
    stats = sync_listing(synthetic, "aws.ec2.instance", "bench-1", synthetic_records(count, "bench-1"), complete=True)
    reharvest_s = time.perf_counter() - started
    assert (stats.seen, stats.created, stats.modified, stats.deleted) == (count, 0, 0, 0), stats
    result = {
        "ingest_rps": count / ingest_s,
        "raw_rps": count / raw_s,
        "reharvest_rps": count / reharvest_s,
        "rss": peak_rss_mb(),
    }
    print(f"synthetic: {count} records (making them takes {generate_s:.2f}s, included below)")
    print(f"  raw executemany INSERT (rows pre-serialized): {result['raw_rps']:,.0f} rows/s")
    print(
        f"  sync_listing ingest (normalize, fingerprint, insert, change rows): {result['ingest_rps']:,.0f} rows/s"
        f"   {result['ingest_rps'] / result['raw_rps']:.2f} x raw  (target >= 0.7)"
    )
    print(
        f"  unchanged re-harvest: {result['reharvest_rps']:,.0f} resources/s  (target >= 30,000; "
        f"{result['reharvest_rps'] / result['raw_rps']:.1f} x this run's raw insert rate)"
    )
    print(f"  peak RSS after {count} records: {result['rss']:.0f} MB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=5000, help="moto estate size (0: skip that part)")
    parser.add_argument("--synthetic", type=int, default=100_000)
    options = parser.parse_args()
    if not os.environ.get("DIVVY_DB_HOST"):
        print("note: DIVVY_DB_HOST is not set, measuring the embedded SQLite database, not MariaDB")
    ensure_database()
    from insightcloud.inventory.models import Organization

    organization, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    clean(organization)
    estate = {"resources": 0, "floor_s": 0.0, "harvest_s": 0.0, "ratio": 0.0, "rss": 0.0}
    if options.resources:
        estate = bench_estate(organization, options.resources)
    synthetic = bench_synthetic(organization, options.synthetic)
    clean(organization)
    print(
        f"peak RSS: {estate['rss']:.0f} MB after {estate['resources']} resources, "
        f"{synthetic['rss']:.0f} MB after {options.synthetic} records"
    )
    print(
        f"BENCH harvest_aws resources={estate['resources']} floor_s={estate['floor_s']:.2f} "
        f"harvest_s={estate['harvest_s']:.2f} ratio={estate['ratio']:.2f} ingest_rps={synthetic['ingest_rps']:.0f} "
        f"raw_insert_rps={synthetic['raw_rps']:.0f} reharvest_rps={synthetic['reharvest_rps']:.0f} "
        f"peak_rss_mb={synthetic['rss']:.0f}"
    )


if __name__ == "__main__":
    main()

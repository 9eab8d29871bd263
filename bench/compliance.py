"""Benchmark the compliance engine (not a test).

    DIVVY_DB_HOST=127.0.0.1 ... python bench/compliance.py [--resources 200000]

1. Generates N synthetic normalized resources over the common types (one AWS cloud).
2. In memory: evaluates every built-in insight that applies to each record (evals, evals/s), and
   compares five representative insights with hand-written Python predicates over the same records
   (the baseline): engine_vs_handwritten = engine time / hand-written time.
3. In the database: a full evaluation (findings bulk-written), then 1% of the resources change and
   an incremental evaluation runs.

Targets (issue 5): engine/handwritten <= 2.0; full <= 60 s for 200k resources on this 2-core
machine including writing findings; incremental after a 1% change <= 5% of the full time.
The last line is ``BENCH compliance resources=N insights=M evals=… eval_s=… evals_per_s=…
engine_vs_handwritten=… incremental_s=… full_s=…``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insightcloud.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from compliance.evaluate import evaluate_cloud  # noqa: E402
from compliance.filters import Context  # noqa: E402
from compliance.library import applicable, builtin_insights  # noqa: E402
from compliance.models import DailyCount, EvaluationState, Finding, Scorecard  # noqa: E402
from insightcloud.inventory.models import CloudAccount, Organization, Resource  # noqa: E402

NOW = datetime.now(UTC)
ACCOUNT = "123456789012"


def iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def chance(rng: random.Random, p: float) -> bool:
    return rng.random() < p


# ----------------------------------------------------------------------------- synthetic resources


def security_group(rng: random.Random) -> dict:
    rules = []
    for _ in range(rng.randint(1, 6)):
        port = rng.choice([22, 80, 443, 3389, 5432, 8080, 3306])
        world = chance(rng, 0.08)
        rules.append(
            {
                "protocol": "tcp",
                "from_port": port,
                "to_port": port,
                "cidr": "0.0.0.0/0" if world else "10.0.0.0/8",
                "source_group": None,
                "action": "allow",
                "description": None,
            }
        )
    return {"description": "sg", "network_id": "vpc-1", "ingress": rules, "egress": [], "is_default": chance(rng, 0.05)}


def access_key(rng: random.Random) -> dict:
    return {
        "id": f"AKIA{rng.randint(0, 10**8)}",
        "active": chance(rng, 0.8),
        "created_at": iso(rng.uniform(1, 400)),
        "last_used_at": iso(rng.uniform(0, 100)) if chance(rng, 0.9) else None,
    }


def statement(rng: random.Random, public_p: float) -> dict:
    principal = "*" if chance(rng, public_p) else {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    return {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": "*"}


GENERATORS = {
    "instance": lambda r: {
        "state": "running",
        "instance_type": "m5.large",
        "image_id": "ami-1",
        "public_ips": [],
        "private_ips": ["10.0.0.1"],
        "has_public_ip": chance(r, 0.1),
        "security_groups": ["sg-1"],
        "network_id": "vpc-1",
        "subnet_id": "subnet-1",
        "identity": None,
        "metadata_v2_required": chance(r, 0.85),
        "launched_at": iso(r.uniform(0, 500)),
    },
    "security_group": security_group,
    "volume": lambda r: {
        "size_gb": r.choice([8, 100, 500]),
        "encrypted": chance(r, 0.9),
        "state": "in-use",
        "kms_key_id": "arn:aws:kms:us-east-1:1:key/1" if chance(r, 0.7) else None,
        "attached_to": ["i-1"] if chance(r, 0.95) else [],
        "public_network_access": None,
    },
    "snapshot": lambda r: {
        "volume_id": "vol-1",
        "encrypted": chance(r, 0.9),
        "public": chance(r, 0.01),
        "shared_with": [] if chance(r, 0.97) else ["999988887777"],
        "created_at": iso(r.uniform(0, 500)),
    },
    "storage_container": lambda r: {
        "public": chance(r, 0.03),
        "public_reasons": [],
        "encrypted": chance(r, 0.95),
        "kms_key_id": None,
        "versioning_enabled": chance(r, 0.6),
        "logging_enabled": chance(r, 0.7),
        "https_only": chance(r, 0.8),
        "public_access_block": chance(r, 0.9),
        "policy": {"Statement": [statement(r, 0.02)]},
        "mfa_delete": False,
    },
    "database_instance": lambda r: {
        "engine": "postgres",
        "engine_version": "15",
        "public": chance(r, 0.04),
        "encrypted": chance(r, 0.92),
        "backup_retention_days": r.choice([0, 1, 7, 14, 30]),
        "multi_az": chance(r, 0.5),
        "ssl_required": chance(r, 0.8),
        "authorized_networks": [],
        "deletion_protection": chance(r, 0.6),
        "auto_minor_version_upgrade": chance(r, 0.9),
    },
    "service_user": lambda r: {
        "console_access": chance(r, 0.5),
        "mfa_enabled": chance(r, 0.85),
        "access_keys": [access_key(r) for _ in range(r.randint(0, 2))],
        "password_last_used_at": iso(r.uniform(0, 120)),
        "attached_policies": [],
        "inline_policies": [],
        "groups": ["dev"],
        "created_at": iso(r.uniform(100, 1000)),
    },
    "service_role": lambda r: {
        "trust_policy": {
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ]
        },
        "attached_policies": ["arn:aws:iam::aws:policy/AdministratorAccess"] if chance(r, 0.05) else [],
        "inline_policies": [],
        "keys": [],
    },
    "encryption_key": lambda r: {
        "state": "enabled",
        "rotation_enabled": chance(r, 0.8),
        "rotation_period_days": 365,
        "customer_managed": True,
        "expires_at": None,
        "policy": None,
    },
    "network": lambda r: {
        "cidr_blocks": ["10.0.0.0/16"],
        "is_default": chance(r, 0.1),
        "flow_logs_enabled": chance(r, 0.7),
    },
    "subnet": lambda r: {
        "network_id": "vpc-1",
        "cidr_block": "10.0.1.0/24",
        "maps_public_ip_on_launch": chance(r, 0.2),
        "flow_logs_enabled": None,
        "private_access_enabled": None,
    },
    "load_balancer": lambda r: {
        "scheme": "internet-facing",
        "https_only": chance(r, 0.8),
        "tls_policy": None,
        "logging_enabled": chance(r, 0.6),
        "listeners": [
            {
                "protocol": "HTTPS",
                "port": 443,
                "certificate": "c",
                "tls_policy": r.choice(["ELBSecurityPolicy-TLS13-1-2-2021-06"] * 9 + ["ELBSecurityPolicy-2016-08"]),
            }
        ],
    },
    "serverless_function": lambda r: {
        "runtime": r.choice(["python3.12", "nodejs20.x", "python3.12", "python3.7"]),
        "public": chance(r, 0.02),
        "policy": None,
        "url_auth_type": None,
        "role": "r",
    },
    "message_queue": lambda r: {"public": chance(r, 0.02), "encrypted": chance(r, 0.8), "policy": None},
    "api_accounting_config": lambda r: {
        "multi_region": chance(r, 0.8),
        "logging": True,
        "log_file_validation": chance(r, 0.8),
        "kms_key_id": None,
        "log_group": None,
    },
    "certificate": lambda r: {"domain": "example.com", "expires_at": iso(-r.uniform(-10, 400)), "status": "ISSUED"},
    "log_group": lambda r: {"retention_days": r.choice([None, 30, 90, 400]), "kms_key_id": None},
}
WEIGHTS = {
    "instance": 20,
    "security_group": 12,
    "volume": 20,
    "snapshot": 12,
    "storage_container": 6,
    "database_instance": 3,
    "service_user": 5,
    "service_role": 5,
    "encryption_key": 2,
    "network": 1,
    "subnet": 3,
    "load_balancer": 2,
    "serverless_function": 4,
    "message_queue": 2,
    "api_accounting_config": 0.2,
    "certificate": 1.8,
    "log_group": 2,
}


def generate(n: int, seed: int) -> list[tuple[str, dict]]:
    rng = random.Random(seed)
    types = list(WEIGHTS)
    chosen = rng.choices(types, weights=[WEIGHTS[t] for t in types], k=n)
    return [(rtype, GENERATORS[rtype](rng)) for rtype in chosen]


# ----------------------------------------------------------------------------- hand-written baseline

WORLD = {"0.0.0.0/0", "::/0", "*", "internet", "any"}


def hw_ssh_open(p: dict) -> bool:
    for rule in p.get("ingress") or ():
        if (rule.get("action") or "allow") != "allow" or str(rule.get("cidr") or "").lower() not in WORLD:
            continue
        if (rule.get("protocol") or "all") not in ("tcp", "all"):
            continue
        low, high = rule.get("from_port"), rule.get("to_port")
        if (low is None and high is None) or ((low or 0) <= 22 <= (65535 if high is None else high)):
            return True
    return False


def hw_storage_public(p: dict) -> bool:
    return p.get("public") is True


def hw_volume_unencrypted(p: dict) -> bool:
    return p.get("encrypted") is False


def hw_key_not_rotated(p: dict) -> bool:
    cutoff = NOW - timedelta(days=90)
    for key in p.get("access_keys") or ():
        if key.get("active", True) and key.get("created_at") and datetime.fromisoformat(key["created_at"]) < cutoff:
            return True
    return False


def hw_db_short_backups(p: dict) -> bool:
    days = p.get("backup_retention_days")
    return isinstance(days, int) and not isinstance(days, bool) and days < 7


BASELINE = {
    "security-group-ssh-open-to-world": ("security_group", hw_ssh_open),
    "storage-container-public": ("storage_container", hw_storage_public),
    "volume-unencrypted": ("volume", hw_volume_unencrypted),
    "user-access-key-not-rotated-90-days": ("service_user", hw_key_not_rotated),
    "database-instance-short-backup-retention": ("database_instance", hw_db_short_backups),
}


def best_of(runs: int, fn) -> float:  # noqa: ANN001
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    n = args.resources

    call_command("migrate", verbosity=0)
    insights = applicable(builtin_insights(), "aws")
    records = generate(n, args.seed)
    ctx = Context(account_id=ACCOUNT, now=NOW)

    # In memory: every applicable insight on every record.
    by_type: dict[str, list] = {}
    for insight in insights.values():
        for rtype in insight.resource_types:
            by_type.setdefault(rtype, []).append(insight.predicate)
    evals = sum(len(by_type.get(rtype, ())) for rtype, _ in records)

    def run_all() -> int:
        failing = 0
        for rtype, props in records:
            for predicate in by_type.get(rtype, ()):
                if predicate(props, ctx):
                    failing += 1
        return failing

    eval_s = best_of(3, run_all)
    failing = run_all()
    print(
        f"in memory: {len(insights)} insights, {evals} evaluations in {eval_s:.2f} s "
        f"({evals / eval_s:,.0f}/s), {failing} failing"
    )

    # Engine against hand-written predicates for five representative insights, same records.
    subsets = {key: [p for t, p in records if t == rtype] for key, (rtype, _) in BASELINE.items()}
    engine_t = hand_t = 0.0
    for key, (_, handwritten) in BASELINE.items():
        predicate, subset = insights[key].predicate, subsets[key]
        engine_result = [predicate(p, ctx) for p in subset]
        hand_result = [handwritten(p) for p in subset]
        assert engine_result == hand_result, f"{key}: engine and hand-written predicates disagree"
        e = best_of(5, lambda predicate=predicate, subset=subset: [predicate(p, ctx) for p in subset])
        h = best_of(5, lambda handwritten=handwritten, subset=subset: [handwritten(p) for p in subset])
        engine_t, hand_t = engine_t + e, hand_t + h
        print(
            f"  {key:<45} {len(subset):>7} records  engine {e * 1000:7.1f} ms  hand-written {h * 1000:7.1f} ms  "
            f"x{e / h:.2f}"
        )
    ratio = engine_t / hand_t
    print(f"engine vs hand-written: {ratio:.2f} (target <= 2.0)")

    # Database: full evaluation, then 1% change and an incremental one.
    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    old = CloudAccount.objects.filter(organization=org, name="bench-aws").first()
    if old:
        for model in (Finding, DailyCount, Scorecard, EvaluationState):
            model.objects.filter(cloud=old)._raw_delete(model.objects.db)
        Resource.objects.filter(cloud=old)._raw_delete(Resource.objects.db)
        old.delete()
    cloud = CloudAccount.objects.create(
        organization=org, provider="aws", name="bench-aws", account_id=ACCOUNT, auth_type="role"
    )
    start = time.perf_counter()
    stamp = timezone.now()
    Resource.objects.bulk_create(
        (
            Resource(
                cloud=cloud,
                provider="aws",
                resource_type=rtype,
                native_type=f"aws.bench.{rtype}",
                region="us-east-1",
                native_id=f"r-{i}",
                name=f"{rtype}-{i}",
                properties=props,
                fingerprint=str(i),
                updated_at=stamp,
            )
            for i, (rtype, props) in enumerate(records)
        ),
        batch_size=2000,
    )
    print(f"inserted {n} resources in {time.perf_counter() - start:.1f} s (not timed)")

    start = time.perf_counter()
    full = evaluate_cloud(cloud, full=True, insights=insights)
    full_s = time.perf_counter() - start
    findings = Finding.objects.filter(cloud=cloud, status="open").count()
    print(
        f"full evaluation: {full.resources} resources, {full.evaluations} checks, {findings} open findings "
        f"written in {full_s:.1f} s (target <= 60 s)"
    )

    rng = random.Random(args.seed + 1)
    changed_ids = rng.sample(list(Resource.objects.filter(cloud=cloud).values_list("pk", flat=True)), max(1, n // 100))
    later = timezone.now()
    changed = []
    for resource in Resource.objects.filter(pk__in=changed_ids):
        resource.properties = GENERATORS[resource.resource_type](rng)
        resource.updated_at = later
        changed.append(resource)
    Resource.objects.bulk_update(changed, ["properties", "updated_at"], batch_size=1000)

    start = time.perf_counter()
    incremental = evaluate_cloud(cloud, insights=insights)
    incremental_s = time.perf_counter() - start
    share = incremental_s / full_s
    for label, run in (("full", full), ("incremental", incremental)):
        print(f"  {label} phases (s): " + ", ".join(f"{k} {v:.2f}" for k, v in run.phases.items()))
    print(
        f"incremental after {len(changed)} changes: {incremental.resources} resources, "
        f"{incremental.evaluations} checks in {incremental_s:.2f} s = {share:.1%} of full (target <= 5%)"
    )

    print(
        f"BENCH compliance resources={n} insights={len(insights)} evals={evals} eval_s={eval_s:.2f} "
        f"evals_per_s={evals / eval_s:.0f} engine_vs_handwritten={ratio:.2f} incremental_s={incremental_s:.2f} "
        f"full_s={full_s:.1f}"
    )


if __name__ == "__main__":
    main()

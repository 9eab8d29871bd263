"""Benchmark bulk exemptions (not a test).

    DIVVY_DB_HOST=127.0.0.1 ... python bench/exemptions.py [--resources 2000]

1. One AWS cloud with N public buckets, evaluated (each fails storage-container-public).
2. Times exempting all of them at once by filter, as the insight page's "select all matching" and
   ``POST /api/v1/exemptions/`` with a filter do (N exemptions created, linked and audited).
3. Times an incremental evaluation of the unchanged cloud before (the baseline) and after: every
   evaluation re-applies the active exemptions, so their number weighs on it.

The last line is ``BENCH exemptions resources=N bulk_s=… exemptions_per_s=… eval_before_s=…
eval_after_s=…``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insightcloud.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from compliance.evaluate import evaluate_cloud  # noqa: E402
from compliance.exemptions import exempt_matching  # noqa: E402
from compliance.models import Exemption, Finding  # noqa: E402
from insightcloud.accounts.models import AccessLevel, AuditEvent, User  # noqa: E402
from insightcloud.inventory.models import CloudAccount, Organization, Resource  # noqa: E402

INSIGHT = "storage-container-public"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", type=int, default=2000)
    n = parser.parse_args().resources

    call_command("migrate", verbosity=0)
    org, _ = Organization.objects.get_or_create(slug="bench-exempt", defaults={"name": "Bench exemptions"})
    CloudAccount.objects.filter(organization=org).delete()
    Exemption.objects.filter(organization=org).delete()
    AuditEvent.objects.filter(organization=org).delete()
    admin, _ = User.objects.get_or_create(
        username="bench-exempt-admin", defaults={"organization": org, "access_level": AccessLevel.ORGANIZATION_ADMIN}
    )
    cloud = CloudAccount.objects.create(
        organization=org, provider="aws", name="bench-exempt", account_id="123456789012", auth_type="role"
    )
    stamp = timezone.now()
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
                properties={"public": True, "public_reasons": ["bench"]},
                fingerprint=str(i),
                updated_at=stamp,
            )
            for i in range(n)
        ),
        batch_size=2000,
    )
    evaluate_cloud(cloud, full=True)
    failing = Finding.objects.filter(cloud=cloud, insight_id=INSIGHT).count()
    print(f"{n} public buckets, {failing} failing {INSIGHT} (setup, not timed)")

    start = time.perf_counter()
    evaluate_cloud(cloud)
    eval_before = time.perf_counter() - start
    print(f"incremental evaluation, no exemption: {eval_before:.2f} s (baseline)")

    start = time.perf_counter()
    outcome = exempt_matching(admin, INSIGHT, {"cloud": str(cloud.pk)}, reason="bench")
    bulk_s = time.perf_counter() - start
    exempted = Finding.objects.filter(cloud=cloud, insight_id=INSIGHT).exempted().count()
    assert len(outcome.created) == n and exempted == n, (len(outcome.created), exempted)
    print(
        f"bulk exemption by filter: {n} exemptions created, linked and audited in {bulk_s:.2f} s ({n / bulk_s:,.0f}/s)"
    )

    start = time.perf_counter()
    evaluate_cloud(cloud)
    eval_after = time.perf_counter() - start
    print(
        f"incremental evaluation, {n} active exemptions: {eval_after:.2f} s (x{eval_after / eval_before:.1f} baseline)"
    )
    print(
        f"BENCH exemptions resources={n} bulk_s={bulk_s:.2f} exemptions_per_s={n / bulk_s:.0f} "
        f"eval_before_s={eval_before:.2f} eval_after_s={eval_after:.2f}"
    )


if __name__ == "__main__":
    main()

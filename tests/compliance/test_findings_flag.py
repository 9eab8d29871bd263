"""Resource.has_open_findings follows evaluation and exemptions: open, non-exempted findings count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.evaluate import evaluate_cloud, exempt, revoke
from compliance.findings_flag import stale_resource_ids
from compliance.models import Exemption, Finding
from tests.compliance.conftest import touch

pytestmark = pytest.mark.django_db

ENCRYPTED = {"encrypted": True, "kms_key_id": "arn:aws:kms:us-east-1:1:key/1", "attached_to": ["i-1"]}
UNENCRYPTED = {**ENCRYPTED, "encrypted": False}  # fails volume-unencrypted only


def flagged(resource) -> bool:
    resource.refresh_from_db(fields=["has_open_findings"])
    return resource.has_open_findings


def _finding(resource) -> Finding:
    return Finding.objects.get(resource=resource, insight_id="volume-unencrypted")


def _exemption(volume, **extra) -> Exemption:
    """An exemption of the resource's volume-unencrypted finding (``extra`` may give another scope)."""
    scope = {"resource": volume, **extra}
    return Exemption(
        organization=volume.cloud.organization, insight_id="volume-unencrypted", reason="legacy app",
        approved_by="ciso@example.com", **scope,
    )  # fmt: skip


def test_a_finding_opened_sets_the_flag_and_resolving_it_clears_it(aws_cloud, make_resource):
    failing = make_resource(aws_cloud, "volume", UNENCRYPTED)
    passing = make_resource(aws_cloud, "volume", ENCRYPTED)
    evaluate_cloud(aws_cloud)
    assert flagged(failing) and not flagged(passing)

    touch(failing, encrypted=True)  # fixed: incremental run
    touch(passing, encrypted=False)  # broken
    evaluate_cloud(aws_cloud)
    assert _finding(failing).status == "resolved"
    assert not flagged(failing) and flagged(passing)

    touch(failing, encrypted=False)  # re-opened
    evaluate_cloud(aws_cloud)
    assert _finding(failing).reopened_count == 1
    assert flagged(failing)


def test_a_deleted_resource_loses_the_flag_with_its_findings(aws_cloud, make_resource):
    from tests.compliance.conftest import delete

    volume = make_resource(aws_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(aws_cloud)
    delete(volume)
    evaluate_cloud(aws_cloud)
    assert not flagged(volume)


def test_an_exempted_finding_does_not_count_and_counts_again_once_revoked(aws_cloud, make_resource):
    volume = make_resource(aws_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(aws_cloud)
    exemption = _exemption(volume)
    exempt(exemption)
    assert not flagged(volume)
    evaluate_cloud(aws_cloud, full=True)  # re-evaluation keeps it exempted
    assert not flagged(volume)

    revoke(exemption)
    assert _finding(volume).status == "open"
    assert flagged(volume)


def test_a_resource_with_another_open_finding_keeps_the_flag_when_one_is_exempted(aws_cloud, make_resource):
    volume = make_resource(aws_cloud, "volume", {**UNENCRYPTED, "kms_key_id": None})  # also volume-without-cmk
    evaluate_cloud(aws_cloud)
    exempt(_exemption(volume))
    assert _finding(volume).is_exempted()
    assert flagged(volume)


def test_an_exemption_for_findings_created_later_keeps_them_out(aws_cloud, make_resource):
    volume = make_resource(aws_cloud, "volume", UNENCRYPTED)
    exempt(_exemption(volume))  # before the first evaluation found anything
    evaluate_cloud(aws_cloud)
    assert _finding(volume).is_exempted()
    assert not flagged(volume)


def test_an_exemption_expiring_by_the_clock_counts_at_once_and_is_swept_at_the_next_evaluation(
    aws_cloud, make_resource
):
    volume = make_resource(aws_cloud, "volume", UNENCRYPTED)
    evaluate_cloud(aws_cloud)
    exempt(_exemption(volume, expires_at=timezone.now() + timedelta(hours=1)))
    assert not flagged(volume) and stale_resource_ids() is None

    # It expires while nothing is written: readers add the resource until the cloud is evaluated.
    Exemption.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not flagged(volume)
    assert list(stale_resource_ids().values_list("resource_id", flat=True)) == [volume.pk]
    evaluate_cloud(aws_cloud)  # incremental, nothing changed: the sweep alone sets the flag
    assert flagged(volume) and stale_resource_ids() is None


def test_deleting_an_exemption_with_its_resource_group_counts_its_findings_again(aws_cloud, make_resource):
    from insightcloud.inventory.models import ResourceGroup

    volume = make_resource(aws_cloud, "volume", UNENCRYPTED)
    group = ResourceGroup.objects.create(organization=aws_cloud.organization, name="legacy")
    group.resources.add(volume)
    evaluate_cloud(aws_cloud)
    exempt(_exemption(volume, resource=None, resource_group=group))
    assert not flagged(volume)
    group.delete()  # cascades to the exemption; the finding is left without one
    assert not Exemption.objects.exists()
    assert flagged(volume)


def test_an_insight_that_no_longer_applies_clears_the_flag(aws_cloud, make_resource):
    from compliance.library import applicable, insights_for

    volume = make_resource(aws_cloud, "volume", UNENCRYPTED)
    catalog = applicable(insights_for(aws_cloud.organization_id), "aws")
    evaluate_cloud(aws_cloud, insights=catalog)
    assert flagged(volume)
    without = {key: insight for key, insight in catalog.items() if key != "volume-unencrypted"}
    evaluate_cloud(aws_cloud, insights=without)  # removed insight: its findings resolve
    assert _finding(volume).status == "resolved"
    assert not flagged(volume)


def test_the_migration_backfills_the_flag_from_existing_findings(aws_cloud, make_resource):
    """The migration's backfill, run with the historical models of its own state (as `migrate` does)."""
    import importlib

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from insightcloud.inventory.models import Resource

    failing = make_resource(aws_cloud, "volume", UNENCRYPTED)
    exempted = make_resource(aws_cloud, "volume", UNENCRYPTED)
    passing = make_resource(aws_cloud, "volume", ENCRYPTED)
    evaluate_cloud(aws_cloud)
    exempt(_exemption(exempted))
    Resource.objects.update(has_open_findings=False)  # as the new column starts

    migration = importlib.import_module("insightcloud.inventory.migrations.0004_resource_has_open_findings")
    state = MigrationLoader(connection).project_state(("inventory", "0004_resource_has_open_findings"))
    migration.backfill_has_open_findings(state.apps, None)
    assert flagged(failing) and not flagged(exempted) and not flagged(passing)

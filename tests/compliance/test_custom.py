"""Custom insights and packs live in the database, pass the same schema, and are evaluated like built-ins."""

from __future__ import annotations

import pytest

from compliance.evaluate import evaluate_cloud
from compliance.library import insights_for, packs_for
from compliance.models import CustomInsight, CustomPack, Scorecard
from compliance.schema import DefinitionError
from insightcloud.registry import registry

pytestmark = pytest.mark.django_db

BIG_DISK = {
    "id": "volume-too-large",
    "name": "Volume larger than 1 TiB",
    "description": "Big disks.",
    "severity": "low",
    "resource_types": ["volume"],
    "clouds": ["aws"],
    "filters": [{"key": "size_gb", "op": "gt", "value": 1024}],
    "remediation": "Shrink it.",
}


def test_invalid_custom_insight_is_refused_and_nothing_saved(organization):
    with pytest.raises(DefinitionError, match=r"filters\[0\].op: unknown operator 'bigger'"):
        CustomInsight.objects.create(
            organization=organization,
            definition={**BIG_DISK, "filters": [{"key": "size_gb", "op": "bigger", "value": 1}]},
        )
    assert not CustomInsight.objects.exists()


def test_custom_insight_cannot_reuse_a_builtin_id(organization):
    with pytest.raises(DefinitionError, match="built-in"):
        CustomInsight.objects.create(organization=organization, definition={**BIG_DISK, "id": "volume-unencrypted"})


def test_custom_insight_is_visible_only_to_its_organization(organization, other_organization):
    CustomInsight.objects.create(organization=organization, definition=BIG_DISK)
    assert "volume-too-large" in insights_for(organization.pk)
    assert "volume-too-large" not in insights_for(other_organization.pk)


def test_custom_pack_from_builtin_and_custom_insights_gets_a_scorecard(aws_cloud, make_resource):
    CustomInsight.objects.create(organization=aws_cloud.organization, definition=BIG_DISK)
    CustomPack.objects.create(
        organization=aws_cloud.organization,
        definition={
            "id": "storage-hygiene",
            "name": "Storage hygiene",
            "clouds": ["aws"],
            "controls": [
                {"id": "SH-1", "title": "Disks are encrypted", "insights": ["volume-unencrypted"]},
                {"id": "SH-2", "title": "Disks are small", "insights": ["volume-too-large"]},
                {"id": "SH-3", "title": "Someone reviews disk spend", "manual": True},
            ],
        },
    )
    assert packs_for(aws_cloud.organization_id)["storage-hygiene"].coverage()["coverage"] == round(2 / 3, 4)
    make_resource(aws_cloud, "volume", {"encrypted": True, "kms_key_id": "k", "size_gb": 2048, "attached_to": ["i"]})
    evaluate_cloud(aws_cloud)
    card = Scorecard.objects.get(cloud=aws_cloud, pack_id="storage-hygiene")
    assert card.controls["SH-1"]["status"] == "pass" and card.controls["SH-2"]["status"] == "fail"
    assert card.controls["SH-3"]["status"] == "manual"
    assert card.score == 50.0


def test_custom_pack_with_unknown_insight_is_refused(organization):
    definition = {"id": "p", "name": "P", "controls": [{"id": "1", "title": "t", "insights": ["nope"]}]}
    with pytest.raises(DefinitionError, match="unknown insight 'nope'"):
        CustomPack.objects.create(organization=organization, definition=definition)
    assert not CustomPack.objects.exists()


def test_evaluate_is_a_registered_p1_job_kind():
    kind = registry.get("jobs", "evaluate")
    assert kind.priority == "p1" and kind.description

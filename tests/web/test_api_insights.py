"""The insights, packs and scorecards API: CRUD of custom ones, structured validation errors, rights, tenancy."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from compliance.evaluate import evaluate_cloud
from compliance.models import CustomInsight, CustomPack, Finding, FindingStatus
from insightcloud.accounts.models import AuditEvent
from tests.web.conftest import api

pytestmark = pytest.mark.django_db

PUBLIC_BUCKETS = {
    "id": "bucket-world-readable",
    "name": "Bucket readable by anyone",
    "description": "Anyone can list the objects.",
    "severity": "high",
    "resource_types": ["storage_container"],
    "clouds": ["aws"],
    "filters": [{"key": "public", "op": "eq", "value": True}],
    "remediation": "Block public access.",
}


def test_a_bad_definition_answers_400_naming_each_offending_field_and_saves_nothing(users):
    bad = {
        **PUBLIC_BUCKETS,
        "id": "Bad Id",
        "severity": "urgent",
        "colour": "red",
        "filters": [{"key": "public", "op": "equals", "value": True}],
    }
    response = api(users["org_admin"]).post("/api/v1/insights/", bad, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation failed"
    assert set(body["fields"]) == {"id", "severity", "colour", "filters[0].op"}
    assert body["fields"]["filters[0].op"][0].startswith("unknown operator 'equals'; expected one of eq, ne")
    assert body["fields"]["colour"][0].startswith("unknown key; expected one of")
    assert not CustomInsight.objects.exists()


def test_custom_insights_are_created_read_updated_and_deleted_and_each_change_is_audited(users, estate):
    client = api(users["org_admin"])
    created = client.post("/api/v1/insights/", PUBLIC_BUCKETS, format="json")
    assert created.status_code == 201
    assert created.json()["source"] == "custom" and created.json()["editable"] is True

    listed = client.get("/api/v1/insights/", {"source": "custom"}).json()
    assert [i["id"] for i in listed["results"]] == ["bucket-world-readable"]
    assert client.get("/api/v1/insights/", {"severity": "critical"}).json()["count"] > 0  # built-ins listed too

    updated = client.patch("/api/v1/insights/bucket-world-readable/", {"severity": "critical"}, format="json")
    assert updated.status_code == 200 and updated.json()["severity"] == "critical"
    assert updated.json()["name"] == "Bucket readable by anyone"  # a PATCH keeps the rest
    renamed = client.put(
        "/api/v1/insights/bucket-world-readable/", {**PUBLIC_BUCKETS, "id": "public-bucket"}, format="json"
    )
    assert renamed.status_code == 200 and CustomInsight.objects.get().insight_id == "public-bucket"
    refused = client.patch("/api/v1/insights/public-bucket/", {"filters": []}, format="json")
    assert refused.status_code == 400 and refused.json()["fields"] == {"filters": ["must list at least 1 item(s)"]}

    assert client.delete("/api/v1/insights/public-bucket/").status_code == 204
    assert not CustomInsight.objects.exists()
    actions = list(AuditEvent.objects.filter(action__startswith="insight.").values_list("action", flat=True))
    assert sorted(actions) == ["insight.create", "insight.delete", "insight.update", "insight.update"]


def test_a_custom_insight_saved_through_the_api_produces_findings(users, estate):
    estate["dev_bucket"].properties = {"public": True}
    estate["dev_bucket"].save()
    api(users["org_admin"]).post("/api/v1/insights/", PUBLIC_BUCKETS, format="json")
    evaluate_cloud(estate["dev"])
    finding = Finding.objects.get(insight_id="bucket-world-readable")
    assert finding.resource == estate["dev_bucket"] and finding.status == FindingStatus.OPEN
    assert finding.severity == "high"
    detail = api(users["org_admin"]).get("/api/v1/insights/bucket-world-readable/").json()
    assert detail["failing"] == 1


def test_builtins_are_read_only_and_other_organizations_custom_insights_do_not_exist(users):
    api(users["org_admin"]).post("/api/v1/insights/", PUBLIC_BUCKETS, format="json")
    admin = api(users["org_admin"])
    assert admin.get("/api/v1/insights/storage-container-public/").json()["editable"] is False
    assert admin.delete("/api/v1/insights/storage-container-public/").status_code == 403
    assert (
        admin.patch("/api/v1/insights/storage-container-public/", {"severity": "low"}, format="json").status_code == 403
    )
    clash = admin.post("/api/v1/insights/", {**PUBLIC_BUCKETS, "id": "storage-container-public"}, format="json")
    assert clash.status_code == 400 and "built-in" in clash.json()["fields"]["id"][0]

    outsider = api(users["outsider"])
    assert outsider.get("/api/v1/insights/bucket-world-readable/").status_code == 404
    assert outsider.delete("/api/v1/insights/bucket-world-readable/").status_code == 404
    assert outsider.get("/api/v1/insights/", {"source": "custom"}).json()["count"] == 0


def test_only_the_edit_insights_right_may_write(users):
    api(users["org_admin"]).post("/api/v1/insights/", PUBLIC_BUCKETS, format="json")
    for persona in ("member", "viewer"):
        client = api(users[persona])
        assert client.post("/api/v1/insights/", {**PUBLIC_BUCKETS, "id": "mine"}, format="json").status_code == 403
        assert client.delete("/api/v1/insights/bucket-world-readable/").status_code == 403
    assert api(users["member"]).get("/api/v1/insights/bucket-world-readable/").json()["editable"] is False
    assert APIClient().get("/api/v1/insights/").status_code in (401, 403)
    assert CustomInsight.objects.count() == 1


def test_custom_packs_validate_their_insights_and_have_scorecards(users, estate):
    client = api(users["org_admin"])
    client.post("/api/v1/insights/", PUBLIC_BUCKETS, format="json")
    pack = {
        "id": "acme-baseline",
        "name": "Acme baseline",
        "controls": [{"id": "B1", "title": "No public buckets", "insights": ["bucket-world-readable", "nope"]}],
    }
    bad = client.post("/api/v1/packs/", pack, format="json")
    assert bad.status_code == 400 and bad.json()["fields"] == {"controls[0].insights[1]": ["unknown insight 'nope'"]}
    assert not CustomPack.objects.exists()

    pack["controls"][0]["insights"] = ["bucket-world-readable"]
    assert client.post("/api/v1/packs/", pack, format="json").status_code == 201
    in_use = client.delete("/api/v1/insights/bucket-world-readable/")
    assert in_use.status_code == 400 and "acme-baseline" in in_use.json()["fields"]["non_field_errors"][0]

    evaluate_cloud(estate["prod"])
    cards = client.get("/api/v1/packs/acme-baseline/scorecards/").json()
    assert [(c["cloud_name"], c["controls"]["B1"]["status"]) for c in cards] == [("acme-prod", "pass")]
    listed = client.get("/api/v1/scorecards/", {"pack_id": "acme-baseline"}).json()["results"]
    assert [c["cloud_name"] for c in listed] == ["acme-prod"]
    assert api(users["outsider"]).get("/api/v1/packs/acme-baseline/").status_code == 404
    assert api(users["outsider"]).get("/api/v1/scorecards/", {"pack_id": "acme-baseline"}).json()["count"] == 0
    builtin = client.get("/api/v1/packs/").json()["results"][0]
    assert (
        builtin["source"].startswith("builtin:") and client.delete(f"/api/v1/packs/{builtin['id']}/").status_code == 403
    )
    assert client.delete("/api/v1/packs/acme-baseline/").status_code == 204

"""The findings and exemptions API on a real evaluation: filters, cursor, streamed exports, tenancy;
exemptions for one finding, in bulk and by filter; refusals that change nothing; revoking; and what
an evaluation afterwards makes of an exemption."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.evaluate import evaluate_cloud
from compliance.models import Exemption, Finding, Scorecard
from insightcloud.accounts.models import AuditEvent
from insightcloud.accounts.permissions import can_manage_resource, resources_managed_by
from insightcloud.inventory.models import Resource, ResourceGroup
from tests.web.conftest import api, make_resource

pytestmark = pytest.mark.django_db

PUBLIC = "storage-container-public"
PUBLIC_PROPERTIES = {"public": True, "public_reasons": ["ACL grants AllUsers READ"]}


@pytest.fixture
def failing(estate):
    """Public buckets: three in acme-prod (two regions), the acme-dev one, the Globex one; all evaluated."""
    for name in ("prod_bucket", "dev_bucket", "globex_bucket"):
        estate[name].properties = PUBLIC_PROPERTIES
        estate[name].save()
    estate["eu_a"] = make_resource(
        estate["prod"], "arn:aws:s3:::acme-eu-a", region="eu-west-1", properties=PUBLIC_PROPERTIES
    )
    estate["eu_b"] = make_resource(
        estate["prod"], "arn:aws:s3:::acme-eu-b", region="eu-west-1", properties=PUBLIC_PROPERTIES
    )
    for cloud in ("prod", "dev", "globex"):
        evaluate_cloud(estate[cloud], full=True)
    return estate


def public_findings(client, **params) -> list[dict]:
    response = client.get("/api/v1/findings/", {"insight": PUBLIC, **params})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def native_ids(rows: list[dict]) -> list[str]:
    return sorted(row["resource_id"] for row in rows)


# --------------------------------------------------------------------------- findings


def test_findings_list_only_what_the_user_sees_and_filters(users, failing):
    member, outsider = api(users["member"]), api(users["outsider"])
    # The member's role covers acme-prod only; the outsider sees Globex only.
    assert native_ids(public_findings(member)) == [
        "arn:aws:s3:::acme-eu-a",
        "arn:aws:s3:::acme-eu-b",
        "arn:aws:s3:::acme-prod-logs",
    ]
    assert native_ids(public_findings(outsider)) == ["arn:aws:s3:::globex-secrets"]

    admin = api(users["admin"])
    assert len(public_findings(admin)) == 5
    assert native_ids(public_findings(admin, region="eu-west-1")) == [
        "arn:aws:s3:::acme-eu-a",
        "arn:aws:s3:::acme-eu-b",
    ]
    assert native_ids(public_findings(admin, cloud=failing["dev"].pk)) == ["arn:aws:s3:::acme-dev-scratch"]
    assert native_ids(public_findings(admin, resource_id="arn:aws:s3:::acme-eu-b")) == ["arn:aws:s3:::acme-eu-b"]
    assert native_ids(public_findings(admin, q="globex")) == ["arn:aws:s3:::globex-secrets"]
    assert len(public_findings(admin, resource_type="storage_container", provider="aws", status="open")) == 5
    assert public_findings(admin, resource_type="compute_instance") == []
    severity = public_findings(admin)[0]["severity"]
    assert len(public_findings(admin, severity=severity)) == 5
    assert public_findings(admin, severity=[s for s in ("low", "info") if s != severity][0]) == []

    row = public_findings(admin, resource_id="arn:aws:s3:::acme-prod-logs")[0]
    assert row["resource"] == failing["prod_bucket"].pk and row["cloud"] == failing["prod"].pk
    assert (row["status"], row["exempted"], row["exemption"], row["cloud_name"]) == ("fail", False, None, "acme-prod")
    # A pack that maps the insight keeps it; the row lists the controls it belongs to.
    pack_id = row["controls"][0].split(":", 1)[0]
    assert len(public_findings(admin, pack=pack_id)) == 5


def test_bad_filters_answer_400_with_the_offending_fields(users, failing):
    response = api(users["admin"]).get("/api/v1/findings/", {"severity": "dreadful", "status": "gone", "pack": "nope"})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"severity", "status", "pack"}


def test_another_organizations_finding_is_404(users, failing):
    globex = Finding.objects.get(resource=failing["globex_bucket"], insight_id=PUBLIC)
    assert api(users["member"]).get(f"/api/v1/findings/{globex.pk}/").status_code == 404
    assert (
        api(users["outsider"]).get(f"/api/v1/findings/{globex.pk}/").json()["resource_id"]
        == "arn:aws:s3:::globex-secrets"
    )
    dev = Finding.objects.get(resource=failing["dev_bucket"], insight_id=PUBLIC)
    assert api(users["member"]).get(f"/api/v1/findings/{dev.pk}/").status_code == 404  # a cloud the role does not grant


def test_the_cursor_walks_every_finding_once(users, failing):
    client, seen, url = api(users["admin"]), [], "/api/v1/findings/?page_size=2"
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(Finding.objects.values_list("pk", flat=True)) and len(seen) == len(set(seen))


def exported(client, params: dict) -> tuple[object, str]:
    response = client.get("/api/v1/findings/export/", params)
    assert response.status_code == 200, response.content
    return response, b"".join(response.streaming_content).decode()


def test_exports_stream_the_filtered_findings_as_csv_json_and_ocsf(users, failing):
    admin = api(users["admin"])
    response, text = exported(admin, {"export": "csv", "insight": PUBLIC, "region": "eu-west-1"})
    assert response["Content-Disposition"] == 'attachment; filename="findings.csv"'
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r["resource_id"] for r in rows) == ["arn:aws:s3:::acme-eu-a", "arn:aws:s3:::acme-eu-b"]
    assert rows[0]["status"] == "fail" and rows[0]["exempted"] == "False" and ":" in rows[0]["controls"]

    _, text = exported(admin, {"export": "json", "insight": PUBLIC, "cloud": failing["dev"].pk})
    assert [row["resource_id"] for row in json.loads(text)] == ["arn:aws:s3:::acme-dev-scratch"]

    _, text = exported(api(users["outsider"]), {"export": "ocsf"})
    events = json.loads(text)
    assert {event["class_uid"] for event in events} == {2003}
    assert {event["resources"][0]["uid"] for event in events} == {"arn:aws:s3:::globex-secrets"}  # Globex only
    assert AuditEvent.objects.filter(action="findings.export", actor_name="outsider").exists()

    refused = admin.get("/api/v1/findings/export/", {"export": "xlsx"})
    assert refused.status_code == 400 and "export" in refused.json()["fields"]


# --------------------------------------------------------------------------- exemptions


def exempt(client, body: dict):  # noqa: ANN201
    return client.post("/api/v1/exemptions/", body, format="json")


def in_a_month() -> str:
    return (timezone.now() + timedelta(days=30)).isoformat()


def test_exempting_one_finding_marks_it_audits_it_and_the_score_counts_it_passing(users, failing):
    owner = api(users["org_admin"])
    finding = Finding.objects.get(resource=failing["prod_bucket"], insight_id=PUBLIC)
    before = {card.pack_id: card for card in Scorecard.objects.filter(cloud=failing["prod"])}

    response = exempt(owner, {"finding": finding.pk, "reason": "public website", "expires_at": in_a_month()})
    assert response.status_code == 201, response.content
    created = response.json()["created"]
    assert [(e["resource"], e["insight_id"], e["approved_by"], e["active"]) for e in created] == [
        (failing["prod_bucket"].pk, PUBLIC, "acme-admin", True)
    ]
    finding.refresh_from_db()
    assert finding.is_exempted() and finding.status == "open"  # kept, marked exempted
    assert native_ids(public_findings(owner, status="exempted")) == ["arn:aws:s3:::acme-prod-logs"]
    assert "arn:aws:s3:::acme-prod-logs" not in native_ids(public_findings(owner, status="open"))
    event = AuditEvent.objects.get(action="finding.exempt")
    assert (event.actor_name, event.details["insight"], event.details["exemption"]) == (
        "acme-admin",
        PUBLIC,
        created[0]["id"],
    )

    # The next evaluation keeps the finding exempted, and scorecards count it as passing, not failing.
    evaluate_cloud(failing["prod"], full=True)
    finding.refresh_from_db()
    assert finding.is_exempted()
    mapping = [card for card in Scorecard.objects.filter(cloud=failing["prod"]) if card.exempted]
    assert mapping, "a pack mapping the insight counts the exempted resource"
    for card in mapping:
        old = before[card.pack_id]
        assert (card.failed, card.exempted) == (old.failed - 1, old.exempted + 1), card.pack_id
        assert card.score > old.score


def test_bulk_exemption_of_listed_resources_skips_those_already_exempted(users, failing):
    owner = api(users["org_admin"])
    ids = [failing["eu_a"].pk, failing["eu_b"].pk]
    first = exempt(owner, {"insight": PUBLIC, "resources": ids[:1], "reason": "migration", "expires_at": None})
    assert first.status_code == 201
    second = exempt(owner, {"insight": PUBLIC, "resources": ids, "reason": "migration"})
    assert second.status_code == 201
    assert [e["resource"] for e in second.json()["created"]] == [ids[1]]
    assert second.json()["already_exempted"] == [ids[0]]
    again = exempt(owner, {"insight": PUBLIC, "resources": ids, "reason": "migration"})
    assert again.status_code == 400 and "already exempted" in again.json()["fields"]["resources"][0]
    assert Exemption.objects.count() == 2
    assert all(f.is_exempted() for f in Finding.objects.filter(resource_id__in=ids, insight_id=PUBLIC))


def test_bulk_exemption_by_filter_covers_the_matching_failing_resources_the_user_may_exempt(users, failing):
    response = exempt(
        api(users["org_admin"]),
        {"insight": PUBLIC, "filter": {"region": "eu-west-1", "cloud": failing["prod"].pk}, "reason": "EU CDN"},
    )
    assert response.status_code == 201, response.content
    assert sorted(e["resource"] for e in response.json()["created"]) == sorted([failing["eu_a"].pk, failing["eu_b"].pk])
    exempted = Finding.objects.filter(insight_id=PUBLIC).exempted()
    assert sorted(f.resource.native_id for f in exempted) == ["arn:aws:s3:::acme-eu-a", "arn:aws:s3:::acme-eu-b"]
    # The domain admin's filter over every organization reaches Globex too; an org admin's never does.
    everything = exempt(api(users["org_admin"]), {"insight": PUBLIC, "filter": {}, "reason": "all of Acme"})
    assert "arn:aws:s3:::globex-secrets" not in {e["resource_id"] for e in everything.json()["created"]}
    assert not Finding.objects.get(resource=failing["globex_bucket"], insight_id=PUBLIC).is_exempted()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "next week"}, "expires_at"),
        ({"resources": []}, "resources"),
        ({"insight": "no-such-insight"}, "insight"),
        ({"insight": None}, "insight"),
        ({"filter": {"regoin": "eu-west-1"}}, "filter"),
        ({"filter": {"severity": "dreadful"}}, "filter"),
        ({"filter": {"region": "mars-1"}}, "filter"),
        ({"finding": 1}, "insight"),  # a finding names its own insight: both at once is ambiguous
    ],
)
def test_invalid_exemptions_answer_400_by_field_and_create_nothing(users, failing, body, field):
    request = {"insight": PUBLIC, "resources": [failing["eu_a"].pk], "reason": "ok"}
    request.update(body)
    if "filter" in body or "finding" in body:
        request.pop("resources")
    request = {key: value for key, value in request.items() if value is not None}
    response = exempt(api(users["org_admin"]), request)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"], response.json()
    assert not Exemption.objects.exists()
    assert not AuditEvent.objects.filter(action="finding.exempt").exists()


def test_another_organizations_resource_in_the_list_creates_nothing(users, failing):
    body = {"insight": PUBLIC, "resources": [failing["eu_a"].pk, failing["globex_bucket"].pk], "reason": "x"}
    response = exempt(api(users["org_admin"]), body)
    assert response.status_code == 400
    assert response.json()["fields"]["resources"] == [f"resource {failing['globex_bucket'].pk} does not exist"]
    globex_finding = Finding.objects.get(resource=failing["globex_bucket"], insight_id=PUBLIC)
    other = exempt(api(users["org_admin"]), {"finding": globex_finding.pk, "reason": "x"})
    assert other.status_code == 400 and "does not exist" in other.json()["fields"]["finding"][0]
    assert not Exemption.objects.exists()


def test_who_may_not_exempt_gets_403_and_nothing_is_created(users, failing):
    body = {"insight": PUBLIC, "resources": [failing["prod_bucket"].pk], "reason": "x"}
    # A domain viewer sees everything and manages nothing; the member's role reads acme-prod only.
    for user in (users["viewer"], users["member"]):
        response = exempt(api(user), body)
        assert response.status_code == 403 and response.json()["error"]
    assert exempt(api(users["member"]), {"insight": PUBLIC, "filter": {}, "reason": "x"}).status_code == 403
    assert not Exemption.objects.exists()


def test_revoking_ends_the_exemption_keeps_the_finding_and_is_audited(users, failing):
    owner = api(users["org_admin"])
    created = exempt(owner, {"insight": PUBLIC, "resources": [failing["prod_bucket"].pk], "reason": "x"}).json()
    pk = created["created"][0]["id"]
    assert api(users["outsider"]).post(f"/api/v1/exemptions/{pk}/revoke/").status_code == 404
    assert api(users["viewer"]).post(f"/api/v1/exemptions/{pk}/revoke/").status_code == 403
    assert api(users["member"]).get("/api/v1/exemptions/", {"active": "true"}).json()["count"] == 1

    response = owner.post(f"/api/v1/exemptions/{pk}/revoke/")
    assert response.status_code == 200 and response.json()["active"] is False
    finding = Finding.objects.get(resource=failing["prod_bucket"], insight_id=PUBLIC)
    assert not finding.is_exempted() and finding.status == "open"
    assert AuditEvent.objects.filter(action="exemption.revoke", actor_name="acme-admin").count() == 1
    again = owner.post(f"/api/v1/exemptions/{pk}/revoke/")
    assert again.status_code == 400 and "already ended" in again.json()["fields"]["expires_at"][0]
    assert owner.get("/api/v1/exemptions/", {"active": "false"}).json()["count"] == 1

    # Ended, the resource can be exempted afresh; an evaluation then links the finding to the new one.
    assert (
        exempt(owner, {"insight": PUBLIC, "resources": [failing["prod_bucket"].pk], "reason": "y"}).status_code == 201
    )
    evaluate_cloud(failing["prod"], full=True)
    finding.refresh_from_db()
    assert finding.is_exempted() and finding.exemption.reason == "y"


def test_resources_managed_by_answers_what_can_manage_resource_answers(users, failing, organization):
    group = ResourceGroup.objects.create(organization=organization, name="dev buckets")
    group.resources.add(failing["dev_bucket"])
    role = users["member"].roles.get()
    role.resource_groups.add(group)
    role.can_manage = True
    role.save()
    for user in users.values():
        managed = set(resources_managed_by(user).values_list("pk", flat=True))
        for resource in Resource.objects.select_related("cloud"):
            assert (resource.pk in managed) == can_manage_resource(user, resource), (user.username, resource.native_id)


def test_an_evaluation_relinks_findings_when_a_one_resource_exemption_changes(users, failing):
    owner = api(users["org_admin"])
    assert exempt(owner, {"insight": PUBLIC, "resources": [failing["eu_a"].pk], "reason": "x"}).status_code == 201
    Exemption.objects.update(resource=failing["eu_b"])  # edited by hand: now it names another bucket
    evaluate_cloud(failing["prod"], full=True)
    assert Finding.objects.get(resource=failing["eu_a"], insight_id=PUBLIC).exemption is None
    assert Finding.objects.get(resource=failing["eu_b"], insight_id=PUBLIC).is_exempted()


def test_the_pack_filter_knows_the_packs_after_the_schema_was_built(users, failing):
    from compliance.filtersets import FindingFilterSet

    built_once = FindingFilterSet.base_filters["pack"].field  # as building the OpenAPI schema does
    assert "iso-27001-2022" not in dict(built_once.choices)
    assert len(public_findings(api(users["admin"]), pack="iso-27001-2022")) == 5


def test_the_inventory_has_findings_flag_follows_bulk_exemptions_and_their_revocation(users, failing):
    owner, bucket = api(users["org_admin"]), failing["eu_a"]

    def flag() -> bool:
        return Resource.objects.get(pk=bucket.pk).has_open_findings

    insights = sorted(Finding.objects.filter(resource=bucket, status="open").values_list("insight_id", flat=True))
    assert flag() and PUBLIC in insights
    created = []
    for insight in insights:  # every failing insight of the bucket exempted: nothing counts against it
        response = exempt(owner, {"insight": insight, "resources": [bucket.pk], "reason": "legacy"})
        created += response.json()["created"]
    assert not flag()
    owner.post(f"/api/v1/exemptions/{created[0]['id']}/revoke/")
    assert flag()

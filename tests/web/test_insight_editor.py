"""Custom insights and packs in the GUI: validate as you type, preview, save, edit, delete, rights, tenancy."""

from __future__ import annotations

import pytest

from compliance.evaluate import evaluate_cloud
from compliance.models import CustomInsight, CustomPack, DailyCount, Finding, FindingStatus
from insightcloud.accounts.models import AuditEvent, Role
from scheduler.models import Job
from tests.web.conftest import gui, make_resource, make_user

pytestmark = pytest.mark.django_db


def unversioned_buckets_form(**overrides) -> dict:
    """The builder's fields for 'bucket without versioning' with one property-check row (row number 3,
    as if two rows had been added and removed before)."""
    form = {
        "id": "bucket-unversioned",
        "name": "Bucket without versioning",
        "severity": "medium",
        "description": "Objects can be overwritten for good.",
        "remediation": "Turn versioning on.",
        "resource_types": ["storage_container"],
        "clouds": ["aws"],
        "filters-3-kind": "key",
        "filters-3-key": "versioning_enabled",
        "filters-3-op": "eq",
        "filters-3-value": "false",
        "filters-3-match": "any",
        "enabled": "on",
    }
    form.update(overrides)
    return form


@pytest.fixture
def versioning(estate):
    """acme-prod-logs and globex-secrets have versioning off, acme-dev-scratch has it on."""
    for key, enabled in (("prod_bucket", False), ("dev_bucket", True), ("globex_bucket", False)):
        estate[key].properties = {"public": False, "versioning_enabled": enabled}
        estate[key].save()
    return estate


def test_validation_puts_each_schema_error_beside_its_field(users, versioning):
    form = unversioned_buckets_form(**{"id": "Not Kebab", "filters-3-op": "equals", "severity": ""})
    answer = gui(users["org_admin"]).post("/insights/custom/validate", form).content.decode()
    assert 'id="err-id" hx-swap-oob="true" role="alert"><li>&#x27;Not Kebab&#x27; must be kebab-case' in answer
    assert 'id="err-filters-3-op" hx-swap-oob="true" role="alert"><li>unknown operator &#x27;equals&#x27;' in answer
    assert 'id="err-severity" hx-swap-oob="true" role="alert"><li>unknown value' in answer
    assert 'id="err-name" hx-swap-oob="true"></ul>' in answer  # fine fields are cleared
    assert "Not valid yet" in answer and "preview-table" not in answer


def test_a_named_filter_argument_error_lands_on_that_argument(users, versioning):
    form = unversioned_buckets_form(
        **{"filters-3-kind": "older-than", "filters-3-arg-key": "created_at", "filters-3-arg-days": "soon"}
    )
    answer = gui(users["org_admin"]).post("/insights/custom/validate", form).content.decode()
    assert 'id="err-filters-3-arg-days" hx-swap-oob="true" role="alert"><li>&#x27;soon&#x27; is not of type' in answer
    missing = gui(users["org_admin"]).post("/insights/custom/validate", {**form, "filters-3-arg-days": ""})
    assert 'id="err-filters-3-arg-days" hx-swap-oob="true" role="alert"><li>is required' in missing.content.decode()


def test_the_preview_shows_matching_resources_of_the_users_own_inventory(users, versioning):
    answer = gui(users["org_admin"]).post("/insights/custom/validate", unversioned_buckets_form()).content.decode()
    assert "Valid." in answer
    assert "<strong>1</strong> of 2 resources" in answer  # acme's two buckets; globex's is not theirs
    assert "acme-prod-logs" in answer and "acme-dev-scratch" not in answer and "globex" not in answer
    assert not CustomInsight.objects.exists()  # validating saves nothing


def test_the_preview_comes_before_the_insight_is_named(users, versioning):
    unnamed = unversioned_buckets_form(id="", name="", description="", remediation="")
    answer = gui(users["org_admin"]).post("/insights/custom/validate", unnamed).content.decode()
    assert "Not valid yet: 4 fields to fix." in answer
    assert "<strong>1</strong> of 2 resources" in answer and "acme-prod-logs" in answer


def test_a_bad_definition_is_refused_on_save_and_nothing_is_saved(users, versioning):
    response = gui(users["org_admin"]).post("/insights/custom/new", unversioned_buckets_form(**{"filters-3-key": ""}))
    assert response.status_code == 400
    assert "expected a dotted property path" in response.content.decode()
    assert not CustomInsight.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="insight.").exists()


def test_saving_a_custom_insight_audits_it_queues_evaluations_and_it_is_evaluated_like_a_builtin(users, versioning):
    admin = gui(users["org_admin"])
    response = admin.post("/insights/custom/new", unversioned_buckets_form())
    assert response.status_code == 302 and response["Location"] == "/insights/bucket-unversioned"
    row = CustomInsight.objects.get()
    assert row.organization == users["org_admin"].organization and row.created_by == "acme-admin"
    assert AuditEvent.objects.filter(action="insight.create", target="bucket-unversioned").exists()
    queued = Job.objects.filter(kind="evaluate").values_list("cloud_id", flat=True)
    assert sorted(queued) == sorted([versioning["prod"].pk, versioning["dev"].pk])  # not globex's cloud

    for cloud in ("prod", "dev", "globex"):
        evaluate_cloud(versioning[cloud])
    failing = Finding.objects.filter(insight_id="bucket-unversioned", status=FindingStatus.OPEN)
    assert [f.resource.name for f in failing] == ["arn:aws:s3:::acme-prod-logs"]  # Globex has no such insight
    assert DailyCount.objects.filter(scope="insight", scope_id="bucket-unversioned", failed=1).exists()

    detail = admin.get("/insights/bucket-unversioned").content.decode()
    assert "acme-prod-logs" in detail and 'id="trend-data"' in detail and 'id="edit-insight"' in detail
    assert "acme-prod-logs" not in admin.get("/insights/bucket-unversioned?q=nothing-like-it").content.decode()


def test_editing_a_custom_insight_changes_its_findings_and_deleting_resolves_them(users, versioning):
    admin = gui(users["org_admin"])
    admin.post("/insights/custom/new", unversioned_buckets_form())
    evaluate_cloud(versioning["prod"])
    evaluate_cloud(versioning["dev"])
    page = admin.get("/insights/bucket-unversioned/edit").content.decode()
    assert 'name="filters-0-key"' in page and 'value="versioning_enabled"' in page

    edited = unversioned_buckets_form(**{"filters-3-value": "true", "severity": "high"})
    assert (
        admin.post("/insights/bucket-unversioned/edit", {**edited, "current": "bucket-unversioned"}).status_code == 302
    )
    assert CustomInsight.objects.get().definition["severity"] == "high"
    evaluate_cloud(versioning["prod"])
    evaluate_cloud(versioning["dev"])
    failing = Finding.objects.filter(insight_id="bucket-unversioned", status=FindingStatus.OPEN)
    assert [(f.resource.name, f.severity) for f in failing] == [("arn:aws:s3:::acme-dev-scratch", "high")]
    assert AuditEvent.objects.filter(action="insight.update").exists()

    assert admin.post("/insights/bucket-unversioned/delete").status_code == 302
    assert not CustomInsight.objects.exists()
    assert AuditEvent.objects.filter(action="insight.delete", target="bucket-unversioned").exists()
    evaluate_cloud(versioning["dev"])
    assert not Finding.objects.filter(insight_id="bucket-unversioned", status=FindingStatus.OPEN).exists()


def test_a_disabled_custom_insight_is_listed_apart_and_not_evaluated(users, versioning):
    admin = gui(users["org_admin"])
    form = unversioned_buckets_form()
    del form["enabled"]
    assert admin.post("/insights/custom/new", form)["Location"] == "/insights/"
    assert CustomInsight.objects.get().enabled is False
    assert 'id="disabled-insights"' in admin.get("/insights/").content.decode()
    evaluate_cloud(versioning["prod"])
    assert not Finding.objects.filter(insight_id="bucket-unversioned").exists()
    assert 'name="enabled" id="enabled">' in admin.get("/insights/bucket-unversioned/edit").content.decode()


def test_editing_keeps_the_type_of_each_value(users, versioning):
    admin = gui(users["org_admin"])
    admin.post("/insights/custom/new", unversioned_buckets_form(**{"filters-3-value": '"22"'}))
    assert CustomInsight.objects.get().definition["filters"][0]["value"] == "22"  # text, not a number
    page = admin.get("/insights/bucket-unversioned/edit").content.decode()
    assert 'name="filters-0-value" value="&quot;22&quot;"' in page


def test_builtin_insights_are_read_only_but_can_be_copied(users, versioning):
    admin = gui(users["org_admin"])
    assert admin.get("/insights/storage-container-public/edit").status_code == 404
    assert admin.post("/insights/storage-container-public/delete").status_code == 404
    copy = admin.get("/insights/custom/new?from=storage-container-public").content.decode()
    assert 'value="storage-container-public-custom"' in copy and 'value="public"' in copy
    clash = admin.post("/insights/custom/new", unversioned_buckets_form(id="storage-container-public"))
    assert clash.status_code == 400 and "is the id of a built-in insight" in clash.content.decode()


def test_only_users_with_the_edit_insights_right_may_edit(users, versioning, organization):
    assert gui(users["member"]).get("/insights/custom/new").status_code == 403  # view-only role
    assert gui(users["viewer"]).post("/insights/custom/new", unversioned_buckets_form()).status_code == 403
    assert not CustomInsight.objects.exists()
    manager = make_user("manager", organization)
    role = Role.objects.create(organization=organization, name="managers", can_manage=True, all_clouds=True)
    role.users.add(manager)
    assert gui(manager).post("/insights/custom/new", unversioned_buckets_form()).status_code == 302


def test_another_organizations_custom_insight_is_invisible(users, versioning):
    gui(users["org_admin"]).post("/insights/custom/new", unversioned_buckets_form())
    outsider = gui(users["outsider"])
    assert outsider.get("/insights/bucket-unversioned").status_code == 404
    assert outsider.get("/insights/bucket-unversioned/edit").status_code == 404
    assert "bucket-unversioned" not in outsider.get("/insights/").content.decode()


def test_a_custom_pack_lists_insights_shows_on_the_compliance_page_and_protects_its_insights(users, versioning):
    admin = gui(users["org_admin"])
    admin.post("/insights/custom/new", unversioned_buckets_form())
    bad = admin.post("/compliance/packs/new", {"id": "Bad Id", "name": "", "insights": []})
    assert bad.status_code == 400 and not CustomPack.objects.exists()
    body = bad.content.decode()
    assert 'id="err-id"' in body and "must list at least 1 item" in body

    pack = {
        "id": "acme-baseline",
        "name": "Acme baseline",
        "insights": ["bucket-unversioned", "storage-container-public"],
    }
    assert admin.post("/compliance/packs/new", pack).status_code == 302
    assert AuditEvent.objects.filter(action="pack.create", target="acme-baseline").exists()
    assert "Acme baseline" in admin.get("/compliance/").content.decode()
    assert "Acme baseline" not in gui(users["outsider"]).get("/compliance/").content.decode()

    evaluate_cloud(versioning["prod"])
    detail = admin.get("/compliance/acme-baseline").content.decode()
    assert "acme-prod (" in detail and "bucket-unversioned" in detail

    refused = admin.post("/insights/bucket-unversioned/delete")
    assert refused.status_code == 302 and CustomInsight.objects.exists()  # the pack still lists it
    assert (
        admin.post("/compliance/acme-baseline/edit", {**pack, "insights": ["storage-container-public"]}).status_code
        == 302
    )
    admin.post("/insights/bucket-unversioned/delete")
    assert not CustomInsight.objects.exists()


def test_a_new_filter_row_is_generated_from_the_named_filters_parameters(users):
    row = gui(users["org_admin"]).get("/insights/custom/filter-row", {"index": 4, "kind": "port-open-to-world"})
    body = row.content.decode()
    assert 'name="filters-4-arg-ports"' in body
    assert 'type="checkbox" name="filters-4-arg-protocols" value="tcp"' in body
    assert 'id="add-filter" hx-swap-oob="true"' in body and "index=5" in body
    assert row["HX-Trigger-After-Settle"] == "revalidate"


def test_the_preview_counts_every_match_but_lists_the_first_ones(users, versioning):
    for n in range(25):
        make_resource(versioning["prod"], f"arn:aws:s3:::bulk-{n:02d}", properties={"versioning_enabled": False})
    answer = gui(users["admin"]).post("/insights/custom/validate", unversioned_buckets_form()).content.decode()
    assert "<strong>27</strong> of 28 resources" in answer  # the admin sees every organization
    assert answer.count("/resources/") == 20 and "Showing the first 20." in answer


def test_editing_a_pack_with_its_own_controls_warns_they_become_one_per_insight(users, organization):
    definition = {
        "id": "grouped",
        "name": "Grouped",
        "controls": [{"id": "C1", "title": "Storage", "insights": ["storage-container-public"]}],
    }
    CustomPack.objects.create(organization=organization, definition=definition)
    page = gui(users["org_admin"]).get("/compliance/grouped/edit").content.decode()
    assert 'id="reshape-warning"' in page and 'value="storage-container-public" checked' in page
    assert gui(users["outsider"]).get("/compliance/grouped/edit").status_code == 404


def test_a_preview_cut_short_says_so(versioning):
    from compliance.editor import matching_part, preview
    from insightcloud.inventory.models import Resource

    insight = matching_part(
        {
            "resource_types": ["storage_container"],
            "clouds": ["aws"],
            "filters": [{"key": "versioning_enabled", "op": "eq", "value": False}],
        }
    )
    cut = preview(insight, Resource.objects.all(), scan_limit=2)
    assert (cut.scanned, cut.truncated) == (2, True)
    whole = preview(insight, Resource.objects.all())
    assert (whole.total, whole.scanned, whole.truncated) == (2, 3, False)

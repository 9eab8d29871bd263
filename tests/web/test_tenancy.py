"""An organization's clouds and resources are invisible to the others, in the GUI and the API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from insightcloud.accounts.permissions import can_manage_cloud, clouds_managed_by
from tests.web.conftest import api, gui

pytestmark = pytest.mark.django_db


def names(response) -> set[str]:
    return {row["name"] for row in response.json()["results"]}


def test_another_organizations_resource_answers_404_in_gui_and_api(users, estate):
    outsider = users["outsider"]
    bucket = estate["prod_bucket"]
    assert gui(outsider).get(f"/resources/{bucket.pk}").status_code == 404
    assert api(outsider).get(f"/api/v1/resources/{bucket.pk}/").status_code == 404
    assert gui(outsider).get(f"/clouds/{estate['prod'].pk}").status_code == 404
    assert api(outsider).get(f"/api/v1/clouds/{estate['prod'].pk}/").status_code == 404


def test_each_persona_lists_only_what_it_may_see(users, estate):
    expectations = {
        "admin": {"acme-prod", "acme-dev", "globex-prod"},
        "viewer": {"acme-prod", "acme-dev", "globex-prod"},
        "org_admin": {"acme-prod", "acme-dev"},
        "member": {"acme-prod"},  # its role grants only the prod cloud
        "outsider": {"globex-prod"},
    }
    for persona, clouds in expectations.items():
        response = api(users[persona]).get("/api/v1/clouds/")
        assert names(response) == clouds, persona
        resources = api(users[persona]).get("/api/v1/resources/").json()["results"]
        assert {r["cloud_name"] for r in resources} == clouds, persona


def test_the_gui_inventory_shows_only_visible_resources(users, estate):
    page = gui(users["member"]).get("/inventory/").content.decode()
    assert "acme-prod-logs" in page
    assert "acme-dev-scratch" not in page
    assert "globex-secrets" not in page


def test_viewers_see_everything_but_manage_nothing(users, estate):
    viewer = users["viewer"]
    assert not clouds_managed_by(viewer).exists()
    assert can_manage_cloud(users["org_admin"], estate["prod"])
    assert not can_manage_cloud(users["org_admin"], estate["globex"])
    assert not can_manage_cloud(users["member"], estate["prod"])


def test_a_role_scoped_to_a_resource_group_shows_its_resources_once(users, estate, organization):
    from insightcloud.accounts.models import Role
    from insightcloud.inventory.models import ResourceGroup

    group = ResourceGroup.objects.create(organization=organization, name="pci")
    group.resources.add(estate["dev_bucket"])
    other = ResourceGroup.objects.create(organization=organization, name="also-dev")
    other.resources.add(estate["dev_bucket"])
    role = Role.objects.create(organization=organization, name="pci readers")
    role.resource_groups.add(group, other)
    role.users.add(users["member"])
    resources = api(users["member"]).get("/api/v1/resources/").json()["results"]
    assert sorted(r["name"] for r in resources) == ["arn:aws:s3:::acme-dev-scratch", "arn:aws:s3:::acme-prod-logs"]


def test_anonymous_api_calls_are_refused_with_json(estate):
    response = APIClient().get("/api/v1/resources/")
    assert response.status_code in (401, 403)
    assert response.json()["error"]


def test_credentials_are_never_returned_by_the_api(users, estate):
    body = api(users["admin"]).get(f"/api/v1/clouds/{estate['prod'].pk}/").content.decode()
    assert "s3cr3t-value" not in body
    assert "credentials" not in body


def test_harvest_now_enqueues_one_p0_job_for_managers_only(users, estate, settings):
    from insightcloud.registry import registry
    from scheduler.jobs import JobKind
    from scheduler.models import Job

    if "harvest" not in registry.names("jobs"):
        with registry.unlocked():
            registry.register("jobs", "harvest", JobKind("harvest", lambda job, **kw: None, "p2", 60, "test"))
    prod = estate["prod"]
    first = api(users["org_admin"]).post(
        f"/api/v1/clouds/{prod.pk}/harvest/", {"regions": ["us-east-1"]}, format="json"
    )
    assert first.status_code == 202
    assert first.json()["priority"] == "p0"
    again = api(users["org_admin"]).post(f"/api/v1/clouds/{prod.pk}/harvest/", {}, format="json")
    assert again.json()["id"] == first.json()["id"]  # the queued one is reused, not doubled
    assert Job.objects.filter(kind="harvest", cloud=prod).count() == 1

    assert api(users["viewer"]).post(f"/api/v1/clouds/{prod.pk}/harvest/").status_code == 403
    assert api(users["outsider"]).post(f"/api/v1/clouds/{prod.pk}/harvest/").status_code == 404
    page = gui(users["org_admin"]).get(f"/clouds/{prod.pk}").content.decode()
    assert "Harvest now" in page
    assert "Harvest now" not in gui(users["viewer"]).get(f"/clouds/{prod.pk}").content.decode()


def test_deleting_a_cloud_spells_out_what_it_removes_and_is_audited(users, estate):
    from insightcloud.accounts.models import AuditEvent
    from insightcloud.inventory.models import CloudAccount

    dev = estate["dev"]
    admin = gui(users["org_admin"])
    confirm = admin.get(f"/clouds/{dev.pk}/delete").content.decode()
    assert "1 resources" in confirm
    assert gui(users["viewer"]).get(f"/clouds/{dev.pk}/delete").status_code == 403
    admin.post(f"/clouds/{dev.pk}/delete")
    assert not CloudAccount.objects.filter(pk=dev.pk).exists()
    event = AuditEvent.objects.get(action="cloud.delete")
    assert event.actor_name == "acme-admin" and event.details["removed"]["resources"] == 1


def test_pausing_a_cloud_blocks_harvests_until_resumed(users, estate):
    prod = estate["prod"]
    assert api(users["org_admin"]).post(f"/api/v1/clouds/{prod.pk}/pause/").json()["status"] == "paused"
    refused = api(users["org_admin"]).post(f"/api/v1/clouds/{prod.pk}/harvest/")
    assert refused.status_code == 403 and "paused" in refused.json()["error"]
    assert api(users["org_admin"]).post(f"/api/v1/clouds/{prod.pk}/resume/").json()["status"] == "pending"


def test_the_audit_log_is_browsable_and_exportable(users, estate):
    from insightcloud.accounts import audit

    audit.record("cloud.harvest", actor=users["member"], target="acme-prod")
    page = gui(users["admin"]).get("/system/audit").content.decode()
    assert "cloud.harvest" in page and "member" in page
    export = b"".join(gui(users["admin"]).get("/system/audit?export=csv").streaming_content).decode()
    assert export.splitlines()[0] == "time,actor,action,target,address,details"
    assert "cloud.harvest" in export
    # An outsider sees only their own events.
    assert "cloud.harvest" not in gui(users["outsider"]).get("/system/audit").content.decode()

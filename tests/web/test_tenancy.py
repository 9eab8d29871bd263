"""An organization's clouds and resources are invisible to the others, in the GUI and the API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from insightcloud.accounts.permissions import can_manage_cloud, clouds_managed_by

pytestmark = pytest.mark.django_db


def gui(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


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

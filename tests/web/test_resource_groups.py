"""Resource groups: select resources in the inventory and add them to a group (existing or new),
list groups with member counts, remove members — within one organization, audited, in the GUI
and the API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from insightcloud.accounts.models import AuditEvent, Role
from insightcloud.inventory.models import ResourceGroup
from tests.web.conftest import api, gui

pytestmark = pytest.mark.django_db


def members(group: ResourceGroup) -> set[str]:
    return {r.name for r in group.resources.all()}


def test_an_admin_adds_selected_resources_to_a_new_group_and_removes_one(users, estate, organization):
    client = gui(users["org_admin"])
    page = client.get("/inventory/").content.decode()
    assert 'id="group-form"' in page
    assert f'name="resources" value="{estate["prod_bucket"].pk}" form="group-form"' in page

    selected = [estate["prod_bucket"].pk, estate["dev_bucket"].pk]
    response = client.post("/groups/add", {"resources": selected, "new_group": "pci"})
    group = ResourceGroup.objects.get(name="pci")
    assert group.organization == organization
    assert response.url == f"/inventory/?resource_group={group.pk}"
    assert members(group) == {"arn:aws:s3:::acme-prod-logs", "arn:aws:s3:::acme-dev-scratch"}

    listing = client.get("/groups/").content.decode()
    assert f'href="/inventory/?resource_group={group.pk}">2</a>' in listing
    filtered = client.get(response.url).content.decode()
    assert "acme-prod-logs" in filtered and "acme-dev-scratch" in filtered
    assert 'id="remove-from-group"' in filtered

    client.post(f"/groups/{group.pk}/remove", {"resources": [estate["dev_bucket"].pk]})
    assert members(group) == {"arn:aws:s3:::acme-prod-logs"}
    # Adding to the existing group again changes only what is new.
    client.post("/groups/add", {"resources": selected, "group": group.pk})
    assert len(members(group)) == 2

    events = AuditEvent.objects.filter(action__startswith="resource_group.").order_by("pk")
    assert [e.action for e in events] == [
        "resource_group.create",
        "resource_group.add",
        "resource_group.remove",
        "resource_group.add",
    ]
    assert events[1].details["count"] == 2 and events[3].details["count"] == 1
    assert {e.actor_name for e in events} == {"acme-admin"} and events[0].organization == organization


def test_an_outsider_cannot_touch_another_organizations_resources_or_groups(users, estate, organization):
    group = ResourceGroup.objects.create(organization=organization, name="pci")
    outsider = gui(users["outsider"])
    mine = ResourceGroup.objects.create(organization=estate["globex"].organization, name="globex-group")
    # Acme's resources into the outsider's own group, or into a new one: 404, nothing made.
    assert outsider.post("/groups/add", {"resources": [estate["prod_bucket"].pk], "group": mine.pk}).status_code == 404
    assert outsider.post("/groups/add", {"resources": [estate["prod_bucket"].pk], "new_group": "x"}).status_code == 404
    # Acme's group, even with the outsider's own resource: 404.
    own = [estate["globex_bucket"].pk]
    assert outsider.post("/groups/add", {"resources": own, "group": group.pk}).status_code == 404
    assert outsider.post(f"/groups/{group.pk}/remove", {"resources": own}).status_code == 404
    assert api(users["outsider"]).get(f"/api/v1/resource-groups/{group.pk}/").status_code == 404
    assert (
        api(users["outsider"]).post(f"/api/v1/resource-groups/{group.pk}/add/", {"resources": own}).status_code == 404
    )
    assert not group.resources.exists() and not mine.resources.exists()
    assert set(ResourceGroup.objects.values_list("name", flat=True)) == {"pci", "globex-group"}
    assert "pci" not in outsider.get("/groups/").content.decode()


def test_viewers_and_members_without_manage_rights_cannot_group(users, estate, organization):
    group = ResourceGroup.objects.create(organization=organization, name="pci")
    for persona in ("viewer", "member"):
        client = gui(users[persona])
        assert 'id="group-form"' not in client.get("/inventory/").content.decode(), persona
        response = client.post("/groups/add", {"resources": [estate["prod_bucket"].pk], "group": group.pk})
        assert response.status_code == 403, persona
    assert not group.resources.exists()


def test_a_member_groups_only_what_its_role_lets_it_manage(users, estate, organization):
    member = users["member"]
    role = Role.objects.create(organization=organization, name="dev managers", can_manage=True)
    role.clouds.add(estate["dev"])
    role.users.add(member)  # already reads prod (another role), now manages dev
    client = gui(member)
    response = client.post("/groups/add", {"resources": [estate["dev_bucket"].pk], "new_group": "dev"})
    assert members(ResourceGroup.objects.get(name="dev")) == {"arn:aws:s3:::acme-dev-scratch"}
    # prod is visible to the member but not managed: refused, and the new group is not made either.
    response = client.post("/groups/add", {"resources": [estate["prod_bucket"].pk], "new_group": "prod"})
    assert response.status_code == 403
    assert not ResourceGroup.objects.filter(name="prod").exists()


def test_bad_input_says_what_is_wrong_and_changes_nothing(users, estate, organization):
    ResourceGroup.objects.create(organization=organization, name="pci")
    client = gui(users["org_admin"])
    page = client.post("/groups/add", {"resources": [estate["prod_bucket"].pk]}, follow=True).content.decode()
    assert "choose a group, or name a new one" in page
    page = client.post("/groups/add", {"new_group": "empty"}, follow=True).content.decode()
    assert "select at least one resource" in page
    page = client.post("/groups/", {"name": "pci"}, follow=True).content.decode()
    assert "Acme already has a group named &#x27;pci&#x27;" in page
    assert list(ResourceGroup.objects.values_list("name", flat=True)) == ["pci"]
    response = api(users["org_admin"]).post("/api/v1/resource-groups/", {"name": "pci"}, format="json")
    assert response.status_code == 400 and "already has a group" in response.json()["fields"]["name"][0]


def test_the_api_lists_creates_and_changes_groups_per_persona(users, estate, organization):
    admin = api(users["org_admin"])
    created = admin.post("/api/v1/resource-groups/", {"name": "pci", "description": "card data"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert (body["organization"], body["name"], body["member_count"]) == ("acme", "pci", 0)
    url = f"/api/v1/resource-groups/{body['id']}/"

    changed = admin.post(
        url + "add/", {"resources": [estate["prod_bucket"].pk, estate["dev_bucket"].pk]}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["changed"] == 2
    assert changed.json()["group"]["member_count"] == 2
    assert admin.post(url + "remove/", {"resources": [estate["dev_bucket"].pk]}, format="json").json()["changed"] == 1

    # A member who reads only prod sees the group but counts only the members it can see.
    estate_group = ResourceGroup.objects.get(pk=body["id"])
    estate_group.resources.add(estate["dev_bucket"])
    rows = {row["name"]: row for row in api(users["member"]).get("/api/v1/resource-groups/").json()["results"]}
    assert rows["pci"]["member_count"] == 1
    assert api(users["admin"]).get(url).json()["member_count"] == 2
    assert api(users["viewer"]).get(url).status_code == 200
    assert api(users["outsider"]).get("/api/v1/resource-groups/").json()["results"] == []

    assert api(users["viewer"]).post("/api/v1/resource-groups/", {"name": "v"}, format="json").status_code == 403
    assert (
        api(users["member"]).post(url + "add/", {"resources": [estate["prod_bucket"].pk]}, format="json").status_code
        == 403
    )
    assert APIClient().get("/api/v1/resource-groups/").status_code == 401

"""A cloud's page and API: last harvest per type, errors, missing permissions, and editing regions
and intervals (validated, audited, only by those who manage the cloud)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from insightcloud.accounts.models import AuditEvent
from scheduler.models import HarvestState, HarvestStrategy, Job
from tests.web.conftest import api

pytestmark = pytest.mark.django_db

BUCKETS = "aws.s3.bucket"


@pytest.fixture
def prod(estate):
    cloud = estate["prod"]
    cloud.regions = ["eu-west-1", "us-east-1"]
    cloud.save()
    return cloud


def test_the_page_shows_last_harvests_errors_and_missing_permissions(client, users, prod):
    HarvestState.objects.create(
        cloud=prod, region="global", native_type=BUCKETS, last_enqueued_at=timezone.now(), last_count=4
    )
    Job.objects.create(
        kind="harvest",
        priority="p2",
        cloud=prod,
        status="succeeded",
        finished_at=timezone.now(),
        result={
            "errors": [
                "aws.iam.user global: PermissionDenied: AccessDenied: not authorized to perform iam:ListUsers",
                "aws.ec2.volume eu-west-1: HarvestError: the endpoint answered 500",
            ]
        },
    )
    client.force_login(users["member"])  # may view prod, not manage it

    page = client.get(f"/clouds/{prod.pk}").content.decode()

    assert 'id="missing-permissions"' in page and "iam:ListUsers" in page
    assert "the endpoint answered 500" in page
    assert f'data-type="{BUCKETS}"' in page and ">4<" in page  # the count of its last harvest
    assert 'name="interval:' not in page and 'id="save-strategy"' not in page  # viewers see, not edit


def test_a_manager_edits_regions_and_intervals_from_the_page(client, users, prod):
    HarvestStrategy.objects.create(cloud=prod, intervals={"instance": 10})  # by normalized type, from the API
    client.force_login(users["org_admin"])
    page = client.get(f"/clouds/{prod.pk}").content.decode()
    assert 'name="enabled_regions" value="us-east-1"' in page and f'name="interval:{BUCKETS}"' in page
    assert 'name="interval:aws.ec2.instance" value="" placeholder="10"' in page

    response = client.post(
        f"/clouds/{prod.pk}/harvest-strategy",
        {"enabled_regions": ["eu-west-1"], f"interval:{BUCKETS}": "60", "interval:aws.ec2.instance": ""},
    )

    assert response.status_code == 302
    strategy = HarvestStrategy.objects.get(cloud=prod)
    assert (strategy.disabled_regions, strategy.intervals) == (["us-east-1"], {"instance": 10, BUCKETS: 60})
    assert AuditEvent.objects.filter(action="cloud.harvest_strategy", target__contains="acme-prod").exists()
    page = client.get(f"/clouds/{prod.pk}").content.decode()
    assert 'value="us-east-1">' in page and 'value="eu-west-1" checked' in page and 'value="60"' in page

    refused = client.post(f"/clouds/{prod.pk}/harvest-strategy", {"enabled_regions": [], f"interval:{BUCKETS}": "2"})
    assert refused.status_code == 302
    shown = client.get(f"/clouds/{prod.pk}").content.decode()
    assert "must be between 5 and 1440 minutes" in shown and "at least one region must stay enabled" in shown
    strategy.refresh_from_db()
    assert (strategy.disabled_regions, strategy.intervals) == (["us-east-1"], {"instance": 10, BUCKETS: 60})


def test_only_managers_edit_and_other_organizations_see_nothing(client, users, prod):
    client.force_login(users["member"])
    assert client.post(f"/clouds/{prod.pk}/harvest-strategy", {"enabled_regions": ["eu-west-1"]}).status_code == 403
    client.force_login(users["outsider"])
    assert client.get(f"/clouds/{prod.pk}").status_code == 404
    assert client.post(f"/clouds/{prod.pk}/harvest-strategy", {"enabled_regions": ["eu-west-1"]}).status_code == 404
    assert not HarvestStrategy.objects.exists()


def test_the_api_switches_regions_off_with_patch(users, prod):
    client = api(users["org_admin"])

    response = client.patch(f"/api/v1/clouds/{prod.pk}/", {"disabled_regions": ["us-east-1"]}, format="json")

    assert response.status_code == 200 and response.json()["disabled_regions"] == ["us-east-1"]
    assert client.get(f"/api/v1/clouds/{prod.pk}/").json()["disabled_regions"] == ["us-east-1"]
    bad = client.patch(f"/api/v1/clouds/{prod.pk}/", {"disabled_regions": ["mars-north-1"]}, format="json")
    assert bad.status_code == 400 and "mars-north-1" in bad.json()["fields"]["disabled_regions"][0]
    assert api(users["member"]).patch(f"/api/v1/clouds/{prod.pk}/", {}, format="json").status_code == 403
    assert api(users["outsider"]).patch(f"/api/v1/clouds/{prod.pk}/", {}, format="json").status_code == 404
    assert HarvestStrategy.objects.get(cloud=prod).disabled_regions == ["us-east-1"]


def test_the_api_reads_and_edits_the_harvest_strategy(users, prod):
    url = f"/api/v1/clouds/{prod.pk}/harvest-strategy/"
    client = api(users["org_admin"])

    current = client.get(url).json()
    assert current["intervals"] == {} and current["dynamic"] is True
    buckets = next(row for row in current["types"] if row["native_type"] == BUCKETS)
    assert buckets["minutes"] == buckets["default_minutes"] == 30

    edited = client.patch(url, {"intervals": {BUCKETS: 90, "instance": 10}, "dynamic": False}, format="json")
    assert edited.status_code == 200, edited.content
    body = edited.json()
    assert body["intervals"] == {BUCKETS: 90, "instance": 10} and body["dynamic"] is False
    assert next(row for row in body["types"] if row["native_type"] == BUCKETS)["minutes"] == 90

    bad = client.patch(url, {"intervals": {"aws.s3.teapot": 30, BUCKETS: 1}}, format="json")
    assert bad.status_code == 400
    problems = " ".join(bad.json()["fields"]["intervals"])
    assert "unknown aws resource type 'aws.s3.teapot'" in problems and "between 5 and 1440" in problems
    assert HarvestStrategy.objects.get(cloud=prod).intervals == {BUCKETS: 90, "instance": 10}

    assert api(users["member"]).get(url).status_code == 200
    assert api(users["member"]).patch(url, {"dynamic": True}, format="json").status_code == 403
    assert api(users["outsider"]).get(url).status_code == 404

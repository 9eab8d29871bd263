"""The resource page and the API offer only the actions that apply to a resource as last
harvested, and the page follows a confirmed action's job live until its harvest shows the result."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from scheduler.actions import actions_for
from scheduler.models import Job, JobStatus
from tests.aws.conftest import fault_proxy, fault_proxy_server, make_cloud, moto, moto_server  # noqa: F401  (fixtures)
from tests.web.conftest import api, gui, make_resource


def instance(cloud, state: str | None, native_id: str = "i-0123456789abcdef0"):
    properties = {} if state is None else {"state": state}
    return make_resource(
        cloud,
        native_id,
        name=f"web-{state}",
        resource_type="instance",
        native_type="aws.ec2.instance",
        properties=properties,
    )


def buttons(page: str) -> set[str]:
    names = ("aws.instance.stop", "aws.instance.start", "aws.instance.reboot")
    return {name for name in names if f'name="action" value="{name}"' in page}


def offered(user, resource) -> set[str]:
    response = api(user).get(f"/api/v1/resources/{resource.pk}/actions/")
    assert response.status_code == 200
    return {row["name"] for row in response.json()}


@pytest.mark.django_db
def test_a_running_instance_offers_stop_and_reboot_and_a_stopped_one_start(users, estate):
    running, stopped = instance(estate["prod"], "running"), instance(estate["prod"], "stopped", "i-0000000000000000b")
    admin = users["org_admin"]

    page = gui(admin).get(f"/resources/{running.pk}").content.decode()
    assert buttons(page) == {"aws.instance.stop", "aws.instance.reboot"}
    assert "aws.instance.start (when state is stopped)" in page
    assert offered(admin, running) == {"aws.instance.stop", "aws.instance.reboot"}

    page = gui(admin).get(f"/resources/{stopped.pk}").content.decode()
    assert buttons(page) == {"aws.instance.start"}
    assert offered(admin, stopped) == {"aws.instance.start"}

    terminated = instance(estate["prod"], "terminated", "i-0000000000000000c")
    assert buttons(gui(admin).get(f"/resources/{terminated.pk}").content.decode()) == set()
    # Unknown to the inventory: every action is offered and the handler asks AWS.
    unknown = instance(estate["prod"], None, "i-0000000000000000d")
    assert offered(admin, unknown) == {"aws.instance.stop", "aws.instance.start", "aws.instance.reboot"}
    # Viewers see what applies in the API but get no buttons; outsiders get 404.
    assert buttons(gui(users["viewer"]).get(f"/resources/{running.pk}").content.decode()) == set()
    assert api(users["outsider"]).get(f"/api/v1/resources/{running.pk}/actions/").status_code == 404


@pytest.mark.django_db
def test_an_action_the_inventory_says_does_not_apply_is_refused_and_nothing_is_queued(users, estate):
    running = instance(estate["prod"], "running")
    response = api(users["org_admin"]).post(
        f"/api/v1/resources/{running.pk}/actions/", {"action": "aws.instance.start"}, format="json"
    )
    assert response.status_code == 400
    message = response.json()["fields"]["action"][0]
    assert "applies when state is stopped, and the inventory shows state 'running'" in message
    page = gui(users["org_admin"]).post(
        f"/resources/{running.pk}/action", {"action": "aws.instance.start"}, follow=True
    )
    assert "the inventory shows state" in page.content.decode()
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_buckets_security_groups_and_users_offer_their_fix_only_when_it_is_needed(estate):
    cloud = estate["prod"]

    def names(native_type: str, resource_type: str, properties: dict) -> set[str]:
        resource = make_resource(
            cloud,
            f"{native_type}-{len(properties)}-{sorted(properties.items())!r}"[:200],
            native_type=native_type,
            resource_type=resource_type,
            properties=properties,
        )
        return {spec.name for spec in actions_for(resource)}

    block = {"aws.bucket.block_public_access"}
    assert names("aws.s3.bucket", "storage_container", {"public_access_block": False}) == block
    assert names("aws.s3.bucket", "storage_container", {"public_access_block": True}) == set()

    world = {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "0.0.0.0/0", "action": "allow"}
    private = {**world, "cidr": "10.0.0.0/8"}
    revoke = {"aws.security_group.revoke_world_ingress"}
    assert names("aws.ec2.security_group", "security_group", {"ingress": [private, world]}) == revoke
    assert names("aws.ec2.security_group", "security_group", {"ingress": [{**world, "cidr": "::/0"}]}) == revoke
    assert names("aws.ec2.security_group", "security_group", {"ingress": [private]}) == set()

    key = {"id": "AKIA1", "active": True}
    deactivate = {"aws.access_key.deactivate"}
    assert names("aws.iam.user", "service_user", {"access_keys": [key]}) == deactivate
    assert names("aws.iam.user", "service_user", {"access_keys": [{**key, "active": False}]}) == set()


# --- live job status, against moto, with the real action and harvest jobs ------------------


@pytest.fixture
def moto_cloud(make_cloud):  # noqa: F811
    cloud = make_cloud("moto", regions=["us-east-1"])
    cloud.status = "ok"
    cloud.save(update_fields=["status"])
    return cloud


@pytest.fixture
def harvested_instance(moto_cloud, moto):  # noqa: F811
    """A running instance in moto, in the inventory through a real harvest."""
    import boto3

    from insightcloud.inventory.models import Resource
    from scheduler.runner import enqueue, execute

    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=moto)
    ec2.run_instances(ImageId="ami-03cf127a", MinCount=1, MaxCount=1)
    harvest, _ = enqueue(
        "harvest", {"cloud_id": moto_cloud.pk, "regions": ["us-east-1"], "types": ["aws.ec2.instance"]}
    )
    assert execute(harvest.pk, harvest.dispatch) == JobStatus.SUCCEEDED
    resource = Resource.objects.get(cloud=moto_cloud, native_type="aws.ec2.instance")
    assert resource.properties["state"] == "running"
    return resource


def status_fragment(client: Client, resource, job, htmx: bool = True):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.get(f"/resources/{resource.pk}/action/{job.pk}", headers=headers)


@pytest.mark.django_db(transaction=True)
def test_the_page_follows_the_action_job_then_refreshes_after_its_harvest(users, harvested_instance):
    from scheduler.runner import execute

    client = gui(users["org_admin"])
    response = client.post(f"/resources/{harvested_instance.pk}/action", {"action": "aws.instance.stop"})
    job = Job.objects.get(kind="action")
    assert response.url == f"/resources/{harvested_instance.pk}?job={job.pk}#action-status"

    page = client.get(response.url).content.decode()
    assert 'id="action-job-status">queued<' in page
    assert f'hx-get="/resources/{harvested_instance.pk}/action/{job.pk}"' in page  # polls while unfinished

    # The claim a worker makes, seen by the page, then handed back so the real run below claims it.
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now())
    fragment = status_fragment(client, harvested_instance, job).content.decode()
    assert 'id="action-job-status">running<' in fragment and "hx-trigger" in fragment
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, started_at=None)

    assert execute(job.pk, job.dispatch) == JobStatus.SUCCEEDED  # the worker's run: stops it in moto
    fragment = status_fragment(client, harvested_instance, job)
    text = fragment.content.decode()
    assert 'id="action-job-status">succeeded<' in text and "running → stopped" in text
    assert 'id="harvest-job-status">queued<' in text and "hx-trigger" in text  # still waiting for the harvest
    assert "HX-Refresh" not in fragment.headers

    harvest = Job.objects.get(pk=Job.objects.get(pk=job.pk).result["harvest_job"])
    assert execute(harvest.pk, harvest.dispatch) == JobStatus.SUCCEEDED
    fragment = status_fragment(client, harvested_instance, job)
    assert fragment.headers["HX-Refresh"] == "true"  # the page reloads to show the new state
    assert "hx-trigger" not in fragment.content.decode()

    page = client.get(f"/resources/{harvested_instance.pk}?job={job.pk}").content.decode()
    assert "&quot;state&quot;: &quot;stopped&quot;" in page and 'id="action-refreshed"' in page
    assert buttons(page) == {"aws.instance.start"}
    assert "hx-trigger" not in page  # finished: nothing polls any more


@pytest.mark.django_db(transaction=True)
def test_a_stale_inventory_lets_the_action_through_and_its_failure_is_shown(users, harvested_instance, moto):  # noqa: F811
    import boto3

    from scheduler.runner import execute

    # Stopped behind our back: the inventory still says running, so stop is offered …
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=moto)
    ec2.stop_instances(InstanceIds=[harvested_instance.native_id.rsplit("/", 1)[-1]])
    client = gui(users["org_admin"])
    client.post(f"/resources/{harvested_instance.pk}/action", {"action": "aws.instance.stop"})
    job = Job.objects.get(kind="action")
    # … and the action itself checks AWS at run time and refuses.
    assert execute(job.pk, job.dispatch) == JobStatus.FAILED
    fragment = status_fragment(client, harvested_instance, job)
    text = fragment.content.decode()
    assert 'id="action-job-status">failed<' in text
    assert "is stopped; stop needs it pending or running" in text
    assert "hx-trigger" not in text and "HX-Refresh" not in fragment.headers

    # Another organization's user, or another resource's job, answer 404.
    assert status_fragment(gui(users["outsider"]), harvested_instance, job).status_code == 404
    other = instance(harvested_instance.cloud, "running", "i-0ther")
    assert status_fragment(client, other, job).status_code == 404

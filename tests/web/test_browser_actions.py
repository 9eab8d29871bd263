"""In real Chromium: a user confirms "stop" on a running instance and watches the job's status
change live, then sees the instance stopped after the action's harvest, without reloading by
hand; and groups resources selected in the inventory."""

from __future__ import annotations

import pytest

from scheduler.models import Job, JobStatus
from tests.aws.conftest import fault_proxy, fault_proxy_server, make_cloud, moto, moto_server  # noqa: F401  (fixtures)
from tests.web.test_browser import browser, log_in, pytestmark, shot  # noqa: F401  (fixture, marks)
from tests.web.test_resource_actions import harvested_instance, moto_cloud  # noqa: F401  (fixtures)


@pytest.mark.django_db(transaction=True)
def test_stopping_an_instance_shows_the_job_live_and_then_the_new_state(
    browser,  # noqa: F811
    live_server,
    users,
    harvested_instance,  # noqa: F811
):
    from scheduler.runner import execute

    page = log_in(browser, live_server, "acme-admin")
    page.goto(f"{live_server.url}/resources/{harvested_instance.pk}")
    assert page.is_visible("button[value='aws.instance.stop']")
    assert not page.is_visible("button[value='aws.instance.start']")
    page.once("dialog", lambda dialog: dialog.accept())  # the confirmation
    page.click("button[value='aws.instance.stop']")
    page.wait_for_selector("#action-job-status")
    assert page.inner_text("#action-job-status") == "queued"

    job = Job.objects.get(kind="action")
    assert execute(job.pk, job.dispatch) == JobStatus.SUCCEEDED  # a worker's run, in this thread
    page.wait_for_function("document.querySelector('#action-job-status').textContent === 'succeeded'")
    assert "running → stopped" in page.inner_text("#action-outcome")
    shot(page, "resource-action-running")

    harvest = Job.objects.get(pk=Job.objects.get(pk=job.pk).result["harvest_job"])
    assert execute(harvest.pk, harvest.dispatch) == JobStatus.SUCCEEDED
    page.wait_for_selector("#action-refreshed")  # HTMX reloaded the page after the harvest
    assert '"state": "stopped"' in page.inner_text("#properties")
    assert page.is_visible("button[value='aws.instance.start']")
    assert not page.is_visible("button[value='aws.instance.stop']")
    shot(page, "resource-action-done")


@pytest.mark.django_db(transaction=True)
def test_selecting_resources_in_the_inventory_and_adding_them_to_a_new_group(browser, live_server, users, estate):  # noqa: F811
    from insightcloud.inventory.models import ResourceGroup

    page = log_in(browser, live_server, "acme-admin")
    page.goto(f"{live_server.url}/inventory/")
    for bucket in ("prod_bucket", "dev_bucket"):
        page.check(f"input[name=resources][value='{estate[bucket].pk}']")  # in the table, owned by #group-form
    page.fill("#group-form input[name=new_group]", "pci")
    shot(page, "inventory-selection")
    page.click("#add-to-group")
    page.wait_for_url("**/inventory/?resource_group=*")
    assert page.locator("#inventory-table tbody tr").count() == 2
    group = ResourceGroup.objects.get(name="pci")
    assert group.resources.count() == 2

    page.check(f"input[name=resources][value='{estate['dev_bucket'].pk}']")
    page.click("#remove-from-group")
    page.wait_for_selector("text=Removed 1 resource(s) from pci")
    page.goto(f"{live_server.url}/groups/")
    assert page.inner_text(f"tr[data-group='{group.pk}'] .member-count") == "1"
    shot(page, "resource-groups")

"""The whole journey in real headless Chromium, against a moto server and a real Celery worker.

A new organization administrator logs in, onboards an AWS cloud through the form, harvests it and
watches the jobs run, sees the dashboard and the inventory fill, finds the public bucket's finding
and exempts it, stops the running instance and sees the change once the action's harvest is done;
then a basic user of another organization sees none of it. One screenshot per page.
"""

from __future__ import annotations

import re

import pytest

from harvesters.aws.demo import create_public_bucket
from insightcloud.accounts.models import AccessLevel, Role
from insightcloud.inventory.models import Resource
from scheduler.models import Job
from tests.aws.conftest import MOTO_AMI, aws, moto, moto_server  # noqa: F401  (fixtures)
from tests.scheduler.conftest import logs, processes  # noqa: F401  (fixture)
from tests.web.conftest import make_user
from tests.web.test_browser import ARTIFACTS, browser, log_in  # noqa: F401  (fixture)
from tests.web.test_browser import shot as save_shot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PUBLIC_BUCKET = "scenario-public-assets"
REGION = "us-east-1"
#: A harvest of every AWS type in one region takes seconds on moto; a slow shared machine gets room.
JOB_TIMEOUT_MS = 90_000


@pytest.fixture
def estate(aws):  # noqa: F811
    """In moto: a bucket anyone may read and a running instance."""
    create_public_bucket(aws("s3", REGION), PUBLIC_BUCKET)
    instance = aws("ec2", REGION).run_instances(
        ImageId=MOTO_AMI,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "scenario-web"}]}],
    )["Instances"][0]
    return {"instance_id": instance["InstanceId"]}


@pytest.fixture
def people(organization, other_organization, settings):
    """Acme's new administrator, and a basic user of Globex allowed to see all Globex's clouds."""
    settings.CLOUD_ENDPOINTS = "cloud-managers"  # Acme's administrator reaches moto through an endpoint URL
    admin = make_user("ada", organization, AccessLevel.ORGANIZATION_ADMIN)
    outsider = make_user("gus", other_organization)
    role = Role.objects.create(organization=other_organization, name="all of globex", all_clouds=True)
    role.users.add(outsider)
    return {"admin": admin, "outsider": outsider}


class Screens:
    """Numbered full-page screenshots: scenario-01-dashboard.png, scenario-02-…"""

    def __init__(self) -> None:
        self.count = 0
        for old in ARTIFACTS.glob("scenario-*.png"):  # a shorter run must not leave pages of a longer one
            old.unlink()

    def __call__(self, page, name: str) -> None:  # noqa: ANN001
        self.count += 1
        save_shot(page, f"scenario-{self.count:02d}-{name}")


def go(page, live_server, link: str, path: str) -> None:  # noqa: ANN001
    """Follow a link of the navigation bar and wait for its page."""
    page.click(f"nav >> text={link}")
    page.wait_for_url(f"{live_server.url}{path}")


def wait_for_jobs(page, kind: str, succeeded: int, worker_logs) -> None:  # noqa: ANN001
    """On the live Jobs page: wait until `succeeded` jobs of `kind` are shown succeeded (or one failed)."""
    page.wait_for_function(
        """([kind, n]) => {
            const rows = document.querySelectorAll(`#jobs-table tr[data-kind="${kind}"]`);
            const done = [...rows].filter(r => r.classList.contains('job-succeeded')).length;
            return done >= n || [...rows].some(r => r.classList.contains('job-failed'));
        }""",
        arg=[kind, succeeded],
        timeout=JOB_TIMEOUT_MS,
    )
    failed = page.locator(f'#jobs-table tr[data-kind="{kind}"].job-failed')
    assert failed.count() == 0, failed.first.inner_text() + "\n" + worker_logs()


def open_cloud_form(page, live_server) -> None:  # noqa: ANN001
    go(page, live_server, "Clouds", "/clouds/")
    page.click("text=Add cloud")
    if not page.url.endswith("/clouds/add/aws"):  # a provider chooser in between
        page.click("a[href$='/clouds/add/aws']")
    page.wait_for_url(f"{live_server.url}/clouds/add/aws")


def submit_aws_cloud(page, live_server, endpoint_url: str, screen) -> int:  # noqa: ANN001
    """Fill the AWS form with moto's keys and address; returns the new cloud's id."""
    page.fill("input[name=name]", "Scenario AWS")
    page.select_option("select[name=auth_type]", "keys")
    page.fill("input[name=access_key_id]", "testing")
    page.fill("input[name=secret_access_key]", "testing")
    page.fill("input[name=regions]", REGION)
    page.fill("input[name=endpoint_url]", endpoint_url)
    screen(page, "cloud-form")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"{re.escape(live_server.url)}/clouds/\d+$"))
    page.wait_for_selector("text=Added Scenario AWS")
    return int(page.url.rsplit("/", 1)[-1])


def open_from_inventory(page, live_server, search: str, name: str, screen) -> int:  # noqa: ANN001
    """Filter the inventory by a text search, open the one resource it leaves; returns its id."""
    go(page, live_server, "Inventory", "/inventory/")
    page.fill("input[name=q]", search)
    page.click("#inventory-filter button.primary")
    page.wait_for_function(
        "name => { const rows = document.querySelectorAll('#inventory-table tbody tr');"
        " return rows.length === 1 && rows[0].innerText.includes(name); }",
        arg=name,
    )
    assert "q=" in page.url  # the filter is in the address bar, a user can share it
    screen(page, f"inventory-{name}")
    page.click(f"#inventory-table tbody tr a:has-text('{name}')")
    page.wait_for_selector("#findings")
    return int(page.url.rsplit("/", 1)[-1])


def test_a_new_user_onboards_aws_harvests_exempts_and_stops_an_instance_and_another_organization_sees_nothing(
    browser,  # noqa: F811
    live_server,
    moto,  # noqa: F811
    estate,
    people,
    redis_client,
    processes,  # noqa: F811
    tmp_path,
):
    processes("worker", "worker", "--concurrency", "1")  # starts while the user onboards the cloud
    screen = Screens()

    page = log_in(browser, live_server, "ada")
    assert page.inner_text("#resource-total") == "0"
    screen(page, "dashboard-empty")

    # Onboard the cloud, then ask for a harvest from its page.
    open_cloud_form(page, live_server)
    cloud_id = submit_aws_cloud(page, live_server, moto, screen)
    page.click("#harvest-now")
    page.wait_for_selector("text=/Harvest job \\d+ enqueued/")
    screen(page, "cloud")

    # The Jobs page updates itself while the worker harvests, then evaluates (a follow-up job).
    go(page, live_server, "Jobs", "/jobs/")
    page.wait_for_selector('#jobs-table tr[data-kind="harvest"]')
    page.evaluate("window.notReloaded = true; document.querySelector('#jobs-table').dataset.loaded = 'first'")
    wait_for_jobs(page, "harvest", 1, lambda: logs(tmp_path))
    wait_for_jobs(page, "evaluate", 1, lambda: logs(tmp_path))
    page.wait_for_selector("#jobs-table[data-loaded]", state="detached")  # HTMX swapped in a fresh table …
    assert page.evaluate("window.notReloaded"), "… in place: the page was not reloaded"
    assert "Scenario AWS" in page.inner_text("#jobs-table")
    screen(page, "jobs")

    go(page, live_server, "Dashboard", "/")
    harvested = Resource.objects.filter(cloud_id=cloud_id, deleted_at=None).count()
    assert harvested >= 2
    assert page.inner_text("#resource-total") == str(harvested)
    page.wait_for_function(  # dashboard.js drew every chart that has data (resources, findings, scores …)
        "(cs => cs.length >= 3 && cs.every(c => c.chart?.data.datasets[0].data.length))"
        "([...document.querySelectorAll('canvas.chart')])"
    )
    screen(page, "dashboard")

    # The public bucket: its finding, its history; exempt the finding.
    bucket_id = open_from_inventory(page, live_server, "scenario-public", PUBLIC_BUCKET, screen)
    finding = page.locator('#findings tr[data-insight="storage-container-public"]')
    assert "open" in finding.inner_text()
    assert "created" in page.inner_text("#history")
    screen(page, "bucket")
    finding.locator("summary").click()
    finding.locator("input[name=reason]").fill("Static website assets, public by design")
    finding.locator("button.primary").click()
    page.wait_for_selector("text=Exempted from storage-container-public")
    finding = page.locator('#findings tr[data-insight="storage-container-public"]')
    assert "exempted" in finding.inner_text() and "public by design" in finding.inner_text()
    screen(page, "bucket-exempted")
    go(page, live_server, "Exemptions", "/exemptions/")
    assert PUBLIC_BUCKET in page.inner_text("#exemptions-table") and "active" in page.inner_text("#exemptions-table")
    screen(page, "exemptions")

    # The instance: stop it (after a confirmation), wait for the action and the harvest it asks for.
    instance_id = open_from_inventory(page, live_server, "scenario-web", "scenario-web", screen)
    assert '"state": "running"' in page.inner_text("#properties")
    screen(page, "instance")
    harvests_before = Job.objects.filter(kind="harvest", status="succeeded").count()
    confirmations = []
    page.once("dialog", lambda dialog: (confirmations.append(dialog.message), dialog.accept()))
    page.click("#actions button[value='aws.instance.stop']")
    page.wait_for_selector("text=/aws.instance.stop: job \\d+ enqueued/")
    assert confirmations and "aws.instance.stop" in confirmations[0]
    go(page, live_server, "Jobs", "/jobs/")
    wait_for_jobs(page, "action", 1, lambda: logs(tmp_path))
    wait_for_jobs(page, "harvest", harvests_before + 1, lambda: logs(tmp_path))  # the action asked for it
    screen(page, "jobs-after-action")
    page.goto(f"{live_server.url}/resources/{instance_id}")
    assert '"state": "stopped"' in page.inner_text("#properties")
    history = page.inner_text("#history")
    assert "modified" in history and "running" in history and "stopped" in history
    screen(page, "instance-stopped")
    assert Job.objects.filter(kind="action", status="succeeded", requested_by="ada").count() == 1

    # Someone of another organization sees none of it.
    outsider = log_in(browser, live_server, "gus")
    assert outsider.inner_text("#resource-total") == "0"
    outsider.goto(f"{live_server.url}/inventory/")
    assert outsider.inner_text("#inventory-table tbody") == "No resources match."
    screen(outsider, "outsider-inventory")
    for link, path in (("Clouds", "/clouds/"), ("Jobs", "/jobs/"), ("Exemptions", "/exemptions/")):
        go(outsider, live_server, link, path)
        text = outsider.inner_text("main")
        assert not any(name in text for name in ("Scenario AWS", PUBLIC_BUCKET, "scenario-web")), link
        if link != "Clouds":  # (the empty text of the clouds page is the onboarding invitation)
            assert outsider.inner_text("main table tbody").startswith("No "), link
    for path in (f"/resources/{bucket_id}", f"/resources/{instance_id}", f"/clouds/{cloud_id}"):
        assert outsider.goto(f"{live_server.url}{path}").status == 404, path
        assert "Not found" in outsider.inner_text("main h1") and "Scenario AWS" not in outsider.inner_text("main")
    screen(outsider, "outsider-404")

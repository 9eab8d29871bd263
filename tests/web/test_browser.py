"""The GUI in real headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from insightcloud.inventory.models import CloudAccount, ResourceChange
from tests.aws.conftest import ACCOUNT_ID, fault_proxy, fault_proxy_server, moto, moto_server  # noqa: F401
from tests.web.conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def browser():
    # Playwright runs an event loop in this thread; the live server's ORM calls are in another.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield chromium
        chromium.close()


def log_in(browser, live_server, username: str):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_a_user_logs_in_filters_the_inventory_and_opens_a_resource_with_its_history(
    browser, live_server, users, estate
):
    bucket = estate["prod_bucket"]
    ResourceChange.objects.create(
        resource=bucket, cloud=bucket.cloud, change_type="modified", diff={"public": [False, True]}
    )

    page = log_in(browser, live_server, "admin")
    assert page.inner_text("#resource-total") == "3"
    shot(page, "dashboard")

    page.click("text=Inventory")
    page.fill("input[name=tag]", "env=prod")
    page.click("#inventory-filter button.primary")
    page.wait_for_function("document.querySelectorAll('#inventory-table tbody tr').length === 1")
    assert "tag=env%3Dprod" in page.url  # HTMX pushed the filter into the address bar
    shot(page, "inventory-filtered")

    page.click("#inventory-table tbody tr a")
    page.wait_for_selector("#history")
    assert "modified" in page.inner_text("#history")
    assert "public" in page.inner_text("#history")
    shot(page, "resource")


@pytest.mark.django_db(transaction=True)
def test_a_basic_user_of_another_organization_sees_none_of_it(browser, live_server, users, estate):
    page = log_in(browser, live_server, "outsider")
    assert page.inner_text("#resource-total") == "1"
    page.goto(f"{live_server.url}/inventory/")
    table = page.inner_text("#inventory-table")
    assert "globex-secrets" in table and "acme" not in table
    response = page.goto(f"{live_server.url}/resources/{estate['prod_bucket'].pk}")
    assert response.status == 404
    shot(page, "outsider-inventory")


@pytest.mark.django_db(transaction=True)
def test_an_admin_onboards_an_aws_account_on_moto_and_lands_on_its_page(
    browser,
    live_server,
    users,
    fault_proxy,  # noqa: F811
    settings,
):
    settings.CLOUD_ENDPOINTS = "cloud-managers"  # an organization admin reaches moto through its endpoint
    page = log_in(browser, live_server, "acme-admin")
    page.click("text=Clouds")
    page.click("#add-cloud")
    page.wait_for_url(f"{live_server.url}/clouds/add/aws")
    page.fill("input[name=name]", "moto-account")
    page.select_option("select[name=auth_type]", "keys")
    page.fill("input[name=access_key_id]", "AKIAMOTO")
    page.fill("input[name=secret_access_key]", "moto-secret-value")
    page.fill("input[name=regions]", "us-east-1")
    page.fill("input[name=endpoint_url]", fault_proxy.url)
    shot(page, "cloud-add-aws")
    page.click("#cloud-add-form button[type=submit]")

    page.wait_for_url(re.compile(r"/clouds/\d+$"))
    cloud = CloudAccount.objects.get(name="moto-account")
    assert page.url == f"{live_server.url}/clouds/{cloud.pk}"
    assert cloud.account_id == ACCOUNT_ID and cloud.regions == ["us-east-1"]
    assert "moto-account" in page.inner_text("h1")
    assert "aws.ec2.instance" in page.inner_text("#harvest-types")
    assert "moto-secret-value" not in page.content()
    shot(page, "cloud-detail")


@pytest.mark.django_db(transaction=True)
def test_an_editor_builds_a_custom_insight_sees_the_preview_saves_it_and_sees_its_trend(
    browser, live_server, users, estate
):
    from compliance.evaluate import evaluate_cloud
    from compliance.models import CustomInsight

    for key, versioned in (("prod_bucket", False), ("dev_bucket", True)):
        estate[key].properties = {"public": False, "versioning_enabled": versioned}
        estate[key].save()
    page = log_in(browser, live_server, "acme-admin")
    page.goto(f"{live_server.url}/insights/")
    page.click("#new-insight")
    page.select_option("#resource-types", ["storage_container"])
    page.fill("input[name=filters-0-key]", "versioning_enabled")
    page.fill("input[name=filters-0-value]", "false")
    page.wait_for_selector("#preview-count")
    assert "1 of 2 resources" in page.inner_text("#preview-count")
    assert "acme-prod-logs" in page.inner_text("#preview-table")

    # A named filter's row is generated from its parameters; a bad argument is flagged beside it.
    page.select_option("#new-filter-kind", "older-than")
    page.click("#add-filter")
    page.wait_for_selector("input[name=filters-1-arg-days]")
    page.fill("input[name=filters-1-arg-key]", "created_at")
    page.fill("input[name=filters-1-arg-days]", "soon")
    page.wait_for_selector("#err-filters-1-arg-days li")
    assert "is not of type 'integer'" in page.inner_text("#err-filters-1-arg-days")
    assert "Not valid yet" in page.inner_text("#preview")
    shot(page, "insight-builder-error")
    page.click("#filter-row-1 .remove-filter")
    page.wait_for_selector("#preview-count")

    page.fill("input[name=id]", "bucket-unversioned")
    page.fill("input[name=name]", "Bucket without versioning")
    page.fill("textarea[name=description]", "Objects can be overwritten for good.")
    page.fill("textarea[name=remediation]", "Turn versioning on.")
    page.wait_for_selector("#validity.valid")
    shot(page, "insight-builder-preview")
    page.click("#save-insight")
    page.wait_for_url(f"{live_server.url}/insights/bucket-unversioned")
    assert CustomInsight.objects.get().definition["filters"] == [
        {"key": "versioning_enabled", "op": "eq", "value": False}
    ]

    evaluate_cloud(estate["prod"])
    page.reload()
    assert "acme-prod-logs" in page.inner_text("#failing-table")
    page.wait_for_function("document.getElementById('trend').chart !== undefined")
    shot(page, "insight-detail-trend")

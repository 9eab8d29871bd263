"""Bulk exemption in real Chromium: the form sits under the failing-resources list, the header box
checks the page, and the exemption lands on the Exemptions page."""

from __future__ import annotations

import pytest

from compliance.models import Finding
from tests.web.test_browser import browser, log_in, pytestmark, shot  # noqa: F401 - the browser fixture
from tests.web.test_findings_api import PUBLIC, failing  # noqa: F401 - the evaluated estate fixture


@pytest.mark.django_db(transaction=True)
def test_an_admin_exempts_every_failing_resource_listed_from_the_insight_page(browser, live_server, users, failing):  # noqa: F811
    page = log_in(browser, live_server, "acme-admin")
    page.goto(f"{live_server.url}/insights/{PUBLIC}")
    # The script moved the form right under the list.
    assert page.evaluate("document.getElementById('failing-table').nextElementSibling.id") == "bulk-exempt"
    page.check("#bulk-select-page")
    assert page.inner_text("#bulk-checked-count") == "4"
    page.uncheck(f'input[name="resource"][value="{failing["prod_bucket"].pk}"]')
    assert page.inner_text("#bulk-checked-count") == "3"
    assert page.evaluate("document.getElementById('bulk-select-page').indeterminate")
    page.fill("#bulk-exempt input[name=reason]", "static sites behind the CDN")
    page.fill("#bulk-exempt input[name=expires_on]", "2099-06-30")
    shot(page, "insight-bulk-exempt")
    page.click("#bulk-exempt-submit")
    page.wait_for_selector("text=Exempted 3 resource(s)")
    exempted = Finding.objects.filter(insight_id=PUBLIC).exempted()
    assert sorted(f.resource.native_id for f in exempted) == [
        "arn:aws:s3:::acme-dev-scratch",
        "arn:aws:s3:::acme-eu-a",
        "arn:aws:s3:::acme-eu-b",
    ]
    page.click("text=Exemptions")
    assert page.locator("#exemptions-table button[name=revoke]").count() == 3
    shot(page, "exemptions-after-bulk")

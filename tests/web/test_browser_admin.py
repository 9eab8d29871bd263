"""The System page's user administration in real headless Chromium."""

from __future__ import annotations

import pytest

from insightcloud.accounts.models import AuditEvent, User
from tests.web.test_browser import browser, log_in, pytestmark, shot  # noqa: F401 - the browser fixture

NEW_PASSWORD = "Browser-Made-Pass-31"


@pytest.mark.django_db(transaction=True)
def test_an_administrator_creates_a_user_from_the_system_page(browser, live_server, users, organization):  # noqa: F811
    page = log_in(browser, live_server, "acme-admin")
    page.click("nav >> text=System")
    page.click("#administration >> text=Users")
    page.click("#new-user")
    page.fill("input[name=username]", "carol")
    page.select_option("select[name=organization]", label="Acme")
    page.select_option("select[name=access_level]", "basic")
    assert "domain_admin" not in page.inner_html("select[name=access_level]")  # an organization admin cannot grant it
    page.fill("input[name=password1]", NEW_PASSWORD)
    page.fill("input[name=password2]", NEW_PASSWORD)
    page.click("#user-form button[type=submit]")
    page.wait_for_selector("text=User carol created.")
    shot(page, "system-user-created")
    carol = User.objects.get(username="carol")
    assert carol.organization == organization and carol.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="user.create", actor_name="acme-admin", target="carol").exists()
    page.goto(f"{live_server.url}/system/users/")
    assert "carol" in page.inner_text("#users-table")

"""Error pages keep the application's layout and say no more than they should."""

from __future__ import annotations

import pytest

from tests.web.conftest import gui

pytestmark = pytest.mark.django_db


def main(page: str) -> str:
    return page.split("<main>", 1)[1].split("</main>", 1)[0]


def test_another_organizations_resource_and_a_missing_one_get_the_same_404_page(users, estate):
    outsider = gui(users["outsider"])
    hidden = outsider.get(f"/resources/{estate['prod_bucket'].pk}")
    missing = outsider.get("/resources/999999")
    assert hidden.status_code == missing.status_code == 404
    page = hidden.content.decode()
    assert 'id="not-found"' in page and "Dashboard" in page  # the layout with its navigation
    assert "acme" not in page.lower()
    hidden_path, missing_path = f"/resources/{estate['prod_bucket'].pk}", "/resources/999999"
    assert main(page).replace(hidden_path, "PATH") == main(missing.content.decode()).replace(missing_path, "PATH")


def test_a_refused_change_gets_a_403_page_that_says_why(users, estate):
    response = gui(users["viewer"]).post(f"/resources/{estate['prod_bucket'].pk}/exempt", {"reason": "x"})
    assert response.status_code == 403
    page = response.content.decode()
    assert 'id="forbidden"' in page and "you may view this resource but not exempt its findings" in page

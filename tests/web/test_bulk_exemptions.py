"""Bulk exemptions from the insight page: checked resources, or every failing resource matching the
page's filter; the same refusals as the API; the Exemptions page lists and revokes them."""

from __future__ import annotations

import pytest

from compliance.models import Exemption, Finding
from insightcloud.accounts.models import AuditEvent
from tests.web.conftest import gui
from tests.web.test_findings_api import PUBLIC, failing  # noqa: F401 - the evaluated estate fixture

pytestmark = pytest.mark.django_db

PAGE = f"/insights/{PUBLIC}"
BULK = f"/exemptions/bulk/{PUBLIC}"


def exempted_ids() -> list[str]:
    return sorted(f.resource.native_id for f in Finding.objects.filter(insight_id=PUBLIC).exempted())


def test_the_insight_page_offers_the_bulk_form_only_to_who_may_exempt(users, failing):  # noqa: F811
    page = gui(users["org_admin"]).get(PAGE).content.decode()
    assert 'id="bulk-exempt"' in page and f'value="{failing["eu_a"].pk}" form="bulk-exempt"' in page
    assert 'id="bulk-matching-count">4<' in page  # Acme's four public buckets, none exempted yet
    filtered = gui(users["org_admin"]).get(PAGE, {"region": "eu-west-1"}).content.decode()
    assert 'id="bulk-matching-count">2<' in filtered and 'name="region" value="eu-west-1"' in filtered
    for reader in (users["viewer"], users["member"]):
        page = gui(reader).get(PAGE).content.decode()
        assert 'id="bulk-exempt"' not in page and "#failing-table .bulk-select { display: none; }" in page


def test_checked_resources_are_exempted_with_reason_and_expiry(users, failing):  # noqa: F811
    admin = gui(users["org_admin"])
    ids = [failing["eu_a"].pk, failing["prod_bucket"].pk]
    response = admin.post(
        BULK, {"select": "checked", "resource": ids, "reason": "CDN origins", "expires_on": "2099-12-31"}, follow=True
    )
    assert "Exempted 2 resource(s)" in response.content.decode()
    assert exempted_ids() == ["arn:aws:s3:::acme-eu-a", "arn:aws:s3:::acme-prod-logs"]
    assert {e.expires_at.date().isoformat() for e in Exemption.objects.all()} == {"2099-12-31"}
    assert AuditEvent.objects.filter(action="finding.exempt", actor_name="acme-admin").count() == 2
    # The exempted rows lose their checkbox; the Exemptions page lists both with a Revoke button.
    page = admin.get(PAGE).content.decode()
    assert f'value="{failing["eu_a"].pk}" form="bulk-exempt"' not in page
    listing = admin.get("/exemptions/").content.decode()
    assert listing.count('name="revoke"') == 2 and "CDN origins" in listing


def test_select_all_matching_exempts_what_the_page_filter_matches(users, failing):  # noqa: F811
    response = gui(users["org_admin"]).post(
        BULK,
        {"select": "all-matching", "region": "eu-west-1", "reason": "EU CDN", "resource": [failing["dev_bucket"].pk]},
    )
    assert response.status_code == 302 and response["Location"] == f"{PAGE}?region=eu-west-1"
    # The checked box is ignored: "all matching" is the filter, and the filter is eu-west-1.
    assert exempted_ids() == ["arn:aws:s3:::acme-eu-a", "arn:aws:s3:::acme-eu-b"]


@pytest.mark.parametrize(
    "form",
    [
        {"select": "checked", "reason": ""},
        {"select": "checked", "reason": "x", "expires_on": "2001-01-01"},
        {"select": "checked", "reason": "x", "expires_on": "31/12/2099"},
        {"select": "checked", "reason": "x", "resource": []},
        {"select": "all-matching", "reason": "x", "region": "mars-1"},
    ],
)
def test_bad_input_exempts_nothing_and_says_why(users, failing, form):  # noqa: F811
    form.setdefault("resource", [failing["eu_a"].pk])
    response = gui(users["org_admin"]).post(BULK, form, follow=True)
    assert "Nothing exempted:" in response.content.decode()
    assert not Exemption.objects.exists()


def test_another_organizations_resource_or_no_right_exempts_nothing(users, failing):  # noqa: F811
    outsider_bucket = failing["globex_bucket"].pk
    response = gui(users["org_admin"]).post(
        BULK, {"select": "checked", "resource": [failing["eu_a"].pk, outsider_bucket], "reason": "x"}, follow=True
    )
    assert f"resource {outsider_bucket} does not exist" in response.content.decode()
    refused = gui(users["viewer"]).post(BULK, {"select": "all-matching", "reason": "x"})
    assert refused.status_code == 403
    assert not Exemption.objects.exists()


def test_the_single_exemption_of_the_resource_page_shares_the_rules(users, failing):  # noqa: F811
    bucket = failing["prod_bucket"]
    admin = gui(users["org_admin"])
    past = admin.post(
        f"/resources/{bucket.pk}/exempt", {"insight_id": PUBLIC, "reason": "x", "expires_on": "2001-01-01"}
    )
    assert past.status_code == 302 and not Exemption.objects.exists()
    admin.post(f"/resources/{bucket.pk}/exempt", {"insight_id": PUBLIC, "reason": "public website"})
    assert exempted_ids() == ["arn:aws:s3:::acme-prod-logs"]
    twice = admin.post(f"/resources/{bucket.pk}/exempt", {"insight_id": PUBLIC, "reason": "again"}, follow=True)
    assert "already exempted" in twice.content.decode() and Exemption.objects.count() == 1


def test_the_exemptions_page_filters_by_insight_and_state(users, failing):  # noqa: F811
    admin = gui(users["org_admin"])
    admin.post(BULK, {"select": "all-matching", "reason": "Acme's public buckets"})
    revoked = Exemption.objects.get(resource=failing["eu_a"])
    admin.post("/exemptions/", {"revoke": revoked.pk})
    page = admin.get("/exemptions/").content.decode()
    assert "4 exemptions." in page and page.count('name="revoke"') == 3
    ended = admin.get("/exemptions/", {"active": "false"}).content.decode()
    assert "1 exemption." in ended and "acme-eu-a" in ended and 'name="revoke"' not in ended
    assert "0 exemptions." in admin.get("/exemptions/", {"insight": "another-insight"}).content.decode()

"""Findings, insights, scorecards and exemptions in the GUI, on a real evaluation of the estate."""

from __future__ import annotations

import re

import pytest

from compliance.models import Exemption, Finding
from insightcloud.accounts.models import AuditEvent
from tests.web.conftest import gui

pytestmark = pytest.mark.django_db


def test_a_public_bucket_shows_its_finding_on_the_resource_page(users, evaluated):
    page = gui(users["member"]).get(f"/resources/{evaluated['prod_bucket'].pk}").content.decode()
    assert "Storage container is public" in page
    assert "open" in page


def test_exempting_a_finding_keeps_it_marks_it_exempted_and_is_audited(users, evaluated):
    bucket = evaluated["prod_bucket"]
    admin = gui(users["org_admin"])
    response = admin.post(
        f"/resources/{bucket.pk}/exempt",
        {"insight_id": "storage-container-public", "reason": "public website", "expires_on": "2099-01-01"},
    )
    assert response.status_code == 302
    finding = Finding.objects.get(resource=bucket, insight_id="storage-container-public")
    assert finding.is_exempted()
    assert "exempted" in admin.get(f"/resources/{bucket.pk}").content.decode()
    assert AuditEvent.objects.filter(action="finding.exempt", actor_name="acme-admin").exists()

    # Revoking ends the exemption; the finding is kept, no longer exempted.
    exemption = Exemption.objects.get()
    admin.post("/exemptions/", {"revoke": exemption.pk})
    finding.refresh_from_db()
    assert not finding.is_exempted()


def test_a_user_without_manage_rights_cannot_exempt(users, evaluated):
    bucket = evaluated["prod_bucket"]
    response = gui(users["viewer"]).post(
        f"/resources/{bucket.pk}/exempt", {"insight_id": "storage-container-public", "reason": "x"}
    )
    assert response.status_code == 403
    assert not Exemption.objects.exists()


def test_the_insights_page_counts_failing_resources_the_user_may_see(users, evaluated):
    page = gui(users["member"]).get("/insights/").content.decode()
    assert "Storage container is public" in page
    detail = gui(users["member"]).get("/insights/storage-container-public").content.decode()
    assert "acme-prod-logs" in detail
    assert "acme-prod-logs" not in gui(users["outsider"]).get("/insights/storage-container-public").content.decode()


def test_the_compliance_page_shows_scorecards_and_a_pack_downloads_as_csv(users, evaluated):
    overview = gui(users["admin"]).get("/compliance/").content.decode()
    assert "CIS" in overview and "%" in overview
    client = gui(users["admin"])
    pack_id = re.search(r'href="/compliance/([^"]+)"', overview).group(1)
    assert client.get(f"/compliance/{pack_id}").status_code == 200
    export = client.get(f"/compliance/{pack_id}?export=csv").content.decode()
    assert export.splitlines()[0] == "control,title,cloud,status,passed,failed,exempted"
    assert client.get(f"/compliance/{pack_id}?format=html").status_code == 200

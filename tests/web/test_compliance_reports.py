"""Pack pages: drill-down from a heatmap cell to the control, its insights and failing resources;
coverage; the PDF report."""

from __future__ import annotations

import io
import re

import pytest
from django.utils import timezone
from pypdf import PdfReader

from compliance.library import builtin_packs
from insightcloud.accounts.models import AuditEvent
from tests.web.conftest import gui

pytestmark = pytest.mark.django_db

PACK = "pci-dss-4.0"  # control 1.4.4 holds storage-container-public, which the public prod bucket fails
CONTROL = "1.4.4"


def test_a_heatmap_cell_drills_down_to_the_control_its_insights_and_the_failing_resource(users, evaluated):
    client = gui(users["member"])
    pack_page = client.get(f"/compliance/{PACK}").content.decode()
    prod = evaluated["prod"]
    cell = re.search(
        rf'<a href="(/compliance/{PACK}/controls/{re.escape(CONTROL)}\?cloud={prod.pk})">fail · (\d+) failing',
        pack_page,
    )
    assert cell, "the failing cell links to its control on that cloud"
    control_page = client.get(cell.group(1)).content.decode()
    assert f'<span id="failing-count">{cell.group(2)}</span>' in control_page
    assert "acme-prod-logs" in control_page

    insight_link = re.search(r'href="(/insights/storage-container-public\?cloud=\d+)"', control_page).group(1)
    insight_page = client.get(insight_link).content.decode()
    assert "acme-prod-logs" in insight_page
    resource_link = re.search(r'href="(/resources/\d+)">[^<]*acme-prod-logs<', insight_page).group(1)
    assert "Storage container is public" in client.get(resource_link).content.decode()


def test_the_drill_down_shows_nothing_of_another_organization(users, evaluated):
    outsider = gui(users["outsider"])
    prod = evaluated["prod"]
    assert outsider.get(f"/compliance/{PACK}/controls/{CONTROL}?cloud={prod.pk}").status_code == 404
    page = outsider.get(f"/compliance/{PACK}/controls/{CONTROL}").content.decode()
    assert "acme-prod-logs" not in page and '<span id="failing-count">0</span>' in page


def test_bad_drill_down_addresses_answer_404(users, evaluated):
    client = gui(users["admin"])
    assert client.get(f"/compliance/{PACK}/controls/no-such-control").status_code == 404
    assert client.get(f"/compliance/{PACK}/controls/{CONTROL}?cloud=abc").status_code == 404
    assert client.get("/insights/storage-container-public?cloud=1;drop").status_code == 404


def test_a_pack_shows_its_coverage(users, evaluated):
    coverage = builtin_packs()[PACK].coverage()
    page = gui(users["member"]).get(f"/compliance/{PACK}").content.decode()
    assert f"{coverage['automated']} of {coverage['total']} controls have insights" in page
    assert f"({round(coverage['coverage'] * 100)}%)" in page


def test_the_pdf_report_has_the_pack_date_score_and_failing_resources_per_control(users, evaluated):
    client = gui(users["member"])
    score = re.search(r'id="pack-score">([\d.]+)%', client.get(f"/compliance/{PACK}").content.decode()).group(1)
    response = client.get(f"/compliance/{PACK}?format=pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{PACK}-')
    pdf = PdfReader(io.BytesIO(response.content))
    # Table cells wrap over several lines: compare words.
    text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    assert pdf.metadata.title == "PCI DSS report"
    assert text.startswith("PCI DSS 4.0")
    assert timezone.localdate().isoformat() in text
    assert f"score {score}%" in text
    assert "Failing resources Exempted" in text
    assert "acme-prod" in text and "acme-dev" not in text  # the member's role covers acme-prod only
    control = next(c for c in builtin_packs()[PACK].controls if c.id == CONTROL)
    row = re.search(rf"{re.escape(CONTROL)} {re.escape(control.title)} (\S+) (\d+) (\d+)", text)
    assert row and row.groups() == ("fail", "1", "0")  # status, failing resources, exempted
    assert AuditEvent.objects.filter(action="compliance.export", actor_name="member", target=PACK).exists()


def test_an_unknown_pack_has_no_report(users, evaluated):
    assert gui(users["admin"]).get("/compliance/no-such-pack?format=pdf").status_code == 404

"""The dashboard: every figure counts what the user may see, every chart point opens the list behind
it, and the score trend grows a point per day of evaluation."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from compliance.evaluate import evaluate_cloud
from compliance.models import CustomPack, DailyScore, Finding
from insightcloud.accounts.models import AccessLevel, Role
from insightcloud.inventory.models import ResourceGroup
from scheduler.models import Job
from tests.web.conftest import gui, make_resource, make_user

pytestmark = pytest.mark.django_db


class _Tables(HTMLParser):
    """Cells' text of the body rows of every table with an id: {table id: [[cell, ...], ...]}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._in_body = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id")
            self.tables.setdefault(self._table, [])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html: str, table_id: str) -> list[list[str]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables[table_id]


def charts(client) -> dict[str, dict]:  # noqa: ANN001
    page = client.get("/").content.decode()
    return {
        chart_id: json.loads(body)
        for chart_id, body in re.findall(r'<script id="([a-z-]+)-data" type="application/json">(.*?)</script>', page)
    }


def points(chart: dict) -> list[tuple[str, object, str]]:
    return list(zip(chart["labels"], chart["series"][0]["values"], chart["links"], strict=True))


@pytest.fixture
def varied(evaluated):
    """Besides the buckets, an instance in another region of the prod cloud, and a broken dev cloud."""
    make_resource(
        evaluated["prod"],
        "i-0123456789abcdef0",
        "web-1",
        resource_type="compute_instance",
        native_type="aws.ec2.instance",
        region="eu-west-1",
        properties={},
    )
    dev = evaluated["dev"]
    dev.status, dev.status_detail = "invalid_credentials", "The security token included in the request is invalid."
    dev.save()
    return evaluated


def test_an_outsider_sees_nothing_of_acme_on_the_dashboard(users, varied):
    client = gui(users["outsider"])
    page = client.get("/").content.decode()
    assert "acme" not in page.lower()
    figures = charts(client)
    assert [label for label, *_ in points(figures["resources-by-cloud"])] == ["globex-prod"]
    assert [n for _, n, _ in points(figures["resources-by-type"])] == [1]
    globex_open = Finding.objects.filter(cloud=varied["globex"], status="open")
    assert sum(n for _, n, _ in points(figures["findings-by-severity"])) == globex_open.count()
    assert sum(n for _, n, _ in points(figures["top-insights"])) == globex_open.count()
    assert globex_open.count() < Finding.objects.filter(status="open").count()
    assert 'id="cloud-errors">0<' in page
    # Globex's score counts Globex's scorecards only: equal to the one on its own cloud.
    for label, score, href in points(figures["pack-scores"]):
        pack_page = client.get(href).content.decode()
        assert f'id="pack-score">{score:.1f}%' in pack_page, label
        assert "acme" not in pack_page.lower()


def test_a_member_counts_only_the_clouds_a_role_grants(users, varied):
    figures = charts(gui(users["member"]))  # a role on acme-prod only
    assert {label: n for label, n, _ in points(figures["resources-by-cloud"])} == {"acme-prod": 2}
    assert {label: n for label, n, _ in points(figures["resources-by-region"])} == {"us-east-1": 1, "eu-west-1": 1}
    severities = {label: n for label, n, _ in points(figures["findings-by-severity"])}
    admin_severities = {label: n for label, n, _ in points(charts(gui(users["admin"]))["findings-by-severity"])}
    assert sum(severities.values()) <= sum(admin_severities.values())
    assert "clouds-by-status" in figures and [label for label, *_ in points(figures["clouds-by-status"])] == ["OK"]


def test_every_chart_point_opens_the_filtered_list_behind_it(users, varied):
    client = gui(users["org_admin"])
    figures = charts(client)
    assert set(figures) >= {
        "pack-scores",
        "score-trend",
        "findings-by-severity",
        "top-insights",
        "resources-by-cloud",
        "resources-by-type",
        "resources-by-region",
        "clouds-by-status",
    }
    followed = 0
    # The org admin may group resources: the inventory's first column is the selection checkbox.
    for chart_id, column in (("resources-by-cloud", 4), ("resources-by-type", 2), ("resources-by-region", 3)):
        for label, n, href in points(figures[chart_id]):
            assert href.startswith("/inventory/?")
            rows = table_rows(client.get(href).content.decode(), "inventory-table")
            assert len(rows) == n and all(row[column] == label for row in rows), (chart_id, label, rows)
            followed += 1
    for severity, n, href in points(figures["findings-by-severity"]):
        rows = table_rows(client.get(href).content.decode(), "insights-table")
        assert rows and all(row[1] == severity for row in rows)
        assert sum(int(row[-1]) for row in rows) == n
        followed += 1
    for name, n, href in points(figures["top-insights"]):
        detail = client.get(href).content.decode()
        assert f"<h1>{name}</h1>" in detail and f"Failing resources ({n})" in detail
        followed += 1
    for status, n, href in points(figures["clouds-by-status"]):
        rows = table_rows(client.get(href).content.decode(), "clouds-table")
        assert len(rows) == n and all(row[4] == status for row in rows)
        followed += 1
    for _, score, href in points(figures["pack-scores"]):
        assert f'id="pack-score">{score:.1f}%' in client.get(href).content.decode()
        followed += 1
    for series in figures["score-trend"]["series"]:
        assert client.get(series["link"]).status_code == 200
    assert followed >= 10


def test_clouds_with_errors_are_counted_and_listed(users, varied):
    client = gui(users["org_admin"])
    page = client.get("/").content.decode()
    assert 'id="cloud-errors">1<' in page and "security token included" in page
    rows = table_rows(client.get("/clouds/?errors=1").content.decode(), "clouds-table")
    assert [row[0] for row in rows] == ["acme-dev"]
    # A harvest that failed in the last day puts its cloud among those with errors too.
    Job.objects.create(kind="harvest", priority="p1", status="failed", cloud=varied["prod"], finished_at=timezone.now())
    rows = table_rows(client.get("/clouds/?errors=1").content.decode(), "clouds-table")
    assert [row[0] for row in rows] == ["acme-dev", "acme-prod"]
    assert 'id="cloud-errors">0<' in gui(users["outsider"]).get("/").content.decode()


def test_the_score_trend_has_a_point_per_day_of_evaluation(organization, estate):
    reader = make_user("reader", organization, AccessLevel.ORGANIZATION_ADMIN)
    today = timezone.now()
    evaluate_cloud(estate["prod"], full=True, now=today - timedelta(days=1))
    bucket = estate["prod_bucket"]
    bucket.properties = {"public": True, "public_reasons": ["policy allows *"]}
    bucket.save()
    evaluate_cloud(estate["prod"], full=True, now=today)
    # The second evaluation of a day replaces that day's row rather than adding one.
    evaluate_cloud(estate["prod"], full=True, now=today)
    assert DailyScore.objects.filter(cloud=estate["prod"], pack_id="pci-dss-4.0").count() == 2

    figures = charts(gui(reader))
    trend = figures["score-trend"]
    days = [timezone.localdate(today - timedelta(days=1)).isoformat(), timezone.localdate(today).isoformat()]
    assert trend["labels"] == days
    pci = next(series for series in trend["series"] if series["link"] == "/compliance/pci-dss-4.0")
    yesterday, now = pci["values"]
    assert now < yesterday  # the bucket went public
    current = {href: score for _, score, href in points(figures["pack-scores"])}
    assert current["/compliance/pci-dss-4.0"] == now
    # Another organization's user sees no trend at all.
    outsider = make_user("stranger", estate["globex"].organization)
    assert "score-trend" not in charts(gui(outsider))


def test_a_role_on_a_resource_group_shows_that_groups_findings_and_no_others(organization, users, varied):
    """Findings follow the resources a user may see, resource-group grants included."""
    group = ResourceGroup.objects.create(organization=organization, name="logs")
    group.resources.add(varied["prod_bucket"])
    role = Role.objects.create(organization=organization, name="log keepers")
    role.resource_groups.add(group)
    keeper = make_user("keeper", organization)
    role.users.add(keeper)

    client = gui(keeper)
    figures = charts(client)
    bucket_findings = Finding.objects.filter(resource=varied["prod_bucket"], status="open")
    assert sum(n for _, n, _ in points(figures["findings-by-severity"])) == bucket_findings.count()
    assert {label for label, *_ in points(figures["resources-by-type"])} == {"storage_container"}
    assert "pack-scores" not in figures  # scorecards are per cloud, and no cloud is granted
    detail = client.get("/insights/storage-container-public").content.decode()
    assert "acme-prod-logs" in detail and "Failing resources (1)" in detail


def test_a_custom_pack_counts_only_on_its_own_organizations_clouds(organization, other_organization, users, varied):
    """Acme and Globex each have a pack "exposure": a domain admin of Acme sees Acme's, not the sum of both."""
    for owner, name in ((organization, "Acme exposure"), (other_organization, "Globex exposure")):
        CustomPack.objects.create(
            organization=owner,
            definition={
                "id": "exposure",
                "name": name,
                "clouds": ["aws"],
                "controls": [{"id": "E-1", "title": "Buckets are private", "insights": ["storage-container-public"]}],
            },
        )
    for cloud in ("prod", "dev", "globex"):
        evaluate_cloud(varied[cloud], full=True)

    admin = gui(users["admin"])
    scores = {label: score for label, score, _ in points(charts(admin)["pack-scores"])}
    assert scores["Acme exposure"] == 50.0  # acme-prod's public bucket fails, acme-dev's passes; Globex's not counted
    assert "Globex exposure" not in scores
    assert [
        series["values"][-1] for series in charts(admin)["score-trend"]["series"] if series["name"] == "Acme exposure"
    ] == [50.0]
    heatmap = admin.get("/compliance/exposure").content.decode()
    assert "acme-prod" in heatmap and "globex-prod" not in heatmap
    outsider = {label: score for label, score, _ in points(charts(gui(users["outsider"]))["pack-scores"])}
    assert outsider["Globex exposure"] == 100.0 and "Acme exposure" not in outsider

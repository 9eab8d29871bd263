"""The manage.py commands: insights, evaluate, findings."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from compliance.evaluate import evaluate_cloud, exempt
from compliance.models import CustomInsight, Exemption, Finding

pytestmark = pytest.mark.django_db

UNENCRYPTED = {"encrypted": False, "kms_key_id": None, "attached_to": ["i-1"]}
CUSTOM = """
insights:
- id: volume-too-large
  name: Volume larger than 1 TiB
  description: Big disks cost money.
  severity: low
  resource_types: [volume]
  clouds: [aws]
  filters:
  - {key: size_gb, op: gt, value: 1024}
  remediation: Shrink it.
  tests:
    fail: [{properties: {size_gb: 2048}}]
    pass: [{properties: {size_gb: 10}}]
"""


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_insights_list_shows_builtin_insights_per_cloud():
    lines = run("insights", "list", "--cloud", "gcp").splitlines()
    assert len(lines) >= 30
    assert any(line.startswith("service-account-has-user-managed-keys ") for line in lines)
    assert not any(line.startswith("instance-imdsv1-allowed ") for line in lines)


def test_insights_show_prints_the_definition_with_its_controls():
    shown = yaml.safe_load(run("insights", "show", "root-account-mfa-disabled"))
    assert shown["severity"] == "critical" and "cis-aws-3.0:1.5" in shown["controls"]


def test_insights_show_unknown_id_fails():
    with pytest.raises(CommandError, match="unknown insight 'nope'"):
        run("insights", "show", "nope")


def test_insights_validate_accepts_a_valid_file(tmp_path):
    path = tmp_path / "custom.yaml"
    path.write_text(CUSTOM)
    assert "1 insight(s) valid" in run("insights", "validate", str(path))


def test_insights_validate_refuses_an_invalid_file_with_paths(tmp_path):
    path = tmp_path / "custom.yaml"
    path.write_text(CUSTOM.replace("op: gt", "op: bigger"))
    with pytest.raises(CommandError, match=r"custom.yaml: insights\[0\]: filters\[0\].op: unknown operator 'bigger'"):
        run("insights", "validate", str(path))


def test_insights_import_saves_custom_insights_and_export_includes_them(tmp_path, organization):
    path = tmp_path / "custom.yaml"
    path.write_text(CUSTOM)
    assert "imported 1 insight(s)" in run("insights", "import", str(path))
    assert CustomInsight.objects.get().insight_id == "volume-too-large"
    exported = yaml.safe_load(run("insights", "export", "--organization", "acme", "--custom-only"))
    assert [i["id"] for i in exported["insights"]] == ["volume-too-large"]
    everything = yaml.safe_load(run("insights", "export"))
    assert len(everything["insights"]) >= 100


def test_invalid_import_saves_nothing(tmp_path, organization):
    path = tmp_path / "custom.yaml"
    path.write_text(CUSTOM + CUSTOM.replace("insights:\n", "").replace("volume-too-large", "Bad Id"))
    with pytest.raises(CommandError, match="nothing saved"):
        run("insights", "import", str(path))
    assert not CustomInsight.objects.exists()


def test_import_refuses_builtin_ids(tmp_path, organization):
    path = tmp_path / "custom.yaml"
    path.write_text(CUSTOM.replace("volume-too-large", "volume-unencrypted"))
    with pytest.raises(CommandError, match="already used by built-in"):
        run("insights", "import", str(path))


def test_custom_insight_is_evaluated(tmp_path, aws_cloud, make_resource):
    path = tmp_path / "custom.yaml"
    path.write_text(CUSTOM)
    run("insights", "import", str(path))
    make_resource(aws_cloud, "volume", {"encrypted": True, "kms_key_id": "k", "size_gb": 4096, "attached_to": ["i"]})
    output = run("evaluate", "--cloud", "prod", "--sync")
    assert "volume-too-large" in output
    assert Finding.objects.filter(insight_id="volume-too-large", status="open").count() == 1


def test_evaluate_sync_prints_counts_per_insight(aws_cloud, make_resource):
    make_resource(aws_cloud, "volume", UNENCRYPTED)
    output = run("evaluate", "--cloud", "prod", "--sync", "--full")
    assert "full evaluation of 1 resources" in output
    line = next(line for line in output.splitlines() if line.startswith("volume-unencrypted "))
    assert line.split()[1:3] == ["1", "1"]  # open, new


def test_evaluate_without_sync_enqueues_a_p1_job(aws_cloud, settings):
    from scheduler.models import Job

    output = run("evaluate", "--cloud", "prod")
    job = Job.objects.get(kind="evaluate")
    assert f"job {job.pk} enqueued" in output
    assert job.priority == "p1" and job.arguments == {"cloud_id": aws_cloud.pk, "full": False}


def test_evaluate_unknown_cloud_fails(organization):
    with pytest.raises(CommandError, match="unknown cloud 'nope'"):
        run("evaluate", "--cloud", "nope", "--sync")


def test_evaluate_job_kind_runs_the_evaluation(aws_cloud, make_resource):
    from scheduler.jobs import get_job_kind
    from scheduler.models import Job

    make_resource(aws_cloud, "volume", UNENCRYPTED)
    job = Job.objects.create(kind="evaluate", priority="p1", arguments={"cloud_id": aws_cloud.pk, "full": True})
    summary = get_job_kind("evaluate").handler(job, **job.arguments)
    assert summary["insights"]["volume-unencrypted"]["open"] == 1
    assert Finding.objects.filter(insight_id="volume-unencrypted").exists()


@pytest.fixture
def evaluated(aws_cloud, make_resource):
    exempted = make_resource(aws_cloud, "volume", UNENCRYPTED, name="exempted-disk")
    make_resource(aws_cloud, "volume", UNENCRYPTED, name="open-disk", tags={"team": "data"})
    fixed = make_resource(aws_cloud, "volume", UNENCRYPTED, name="fixed-disk")
    evaluate_cloud(aws_cloud)
    exempt(Exemption(organization=aws_cloud.organization, insight_id="volume-unencrypted", resource=exempted,
                     reason="r", approved_by="me"))  # fmt: skip
    from tests.compliance.conftest import touch

    touch(fixed, encrypted=True)
    evaluate_cloud(aws_cloud)
    return aws_cloud


def test_findings_json_has_the_documented_fields(evaluated):
    rows = json.loads(run("findings", "--cloud", "prod", "--insight", "volume-unencrypted", "--format", "json"))
    assert [r["resource_name"] for r in rows] == ["open-disk"]
    row = rows[0]
    for field in ("insight_id", "insight_name", "severity", "provider", "cloud_name", "account_id", "region",
                  "resource_type", "native_type", "resource_id", "resource_name", "status", "exempted",
                  "first_seen", "last_seen", "controls"):  # fmt: skip
        assert field in row
    assert (row["status"], row["exempted"], row["provider"], row["account_id"]) == (
        "fail",
        False,
        "aws",
        "111122223333",
    )
    assert "cis-aws-3.0:2.2.1" in row["controls"]


def test_findings_include_exempted_and_resolved_on_request(evaluated):
    rows = json.loads(run("findings", "--insight", "volume-unencrypted", "--include-exempted", "--include-resolved"))
    by_name = {r["resource_name"]: r for r in rows}
    assert by_name["exempted-disk"]["exempted"] is True
    assert by_name["fixed-disk"]["status"] == "resolved"
    assert by_name["open-disk"]["status"] == "fail"


def test_findings_filter_by_pack_and_severity(evaluated):
    rows = json.loads(run("findings", "--pack", "cis-aws-3.0"))
    assert {r["insight_id"] for r in rows} == {"volume-unencrypted"}  # volume-without-cmk is in no CIS AWS control
    assert json.loads(run("findings", "--severity", "critical")) == []
    with pytest.raises(CommandError, match="unknown pack"):
        run("findings", "--pack", "nope")


def test_findings_csv(evaluated):
    rows = list(csv.DictReader(io.StringIO(run("findings", "--insight", "volume-unencrypted", "--format", "csv"))))
    assert len(rows) == 1 and rows[0]["resource_name"] == "open-disk" and "cis-aws-3.0:2.2.1" in rows[0]["controls"]


def test_findings_ocsf_are_compliance_finding_events(evaluated):
    events = json.loads(run("findings", "--insight", "volume-unencrypted", "--format", "ocsf", "--include-exempted"))
    assert len(events) == 2
    for event in events:
        assert event["class_uid"] == 2003 and event["category_uid"] == 2
        assert event["type_uid"] == 200300 + event["activity_id"]
        assert event["severity_id"] == 4 and event["compliance"]["status"] == "Fail"
        assert event["cloud"]["account"]["uid"] == "111122223333"
        assert event["resources"][0]["type"] == "aws.test.volume"
        assert "cis-aws-3.0" in event["compliance"]["standards"]
        assert event["metadata"]["version"].startswith("1.")
    assert sorted(e["status"] for e in events) == ["New", "Suppressed"]

"""addcloud, harvest and inventory end to end (call_command against moto through the proxy)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from insightcloud.inventory.models import CloudAccount, Organization, Resource
from scheduler.models import Job
from tests.aws.conftest import ACCOUNT_ID
from tests.processes import ROOT, process_env

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def addcloud(*args: str, secret: str | None = SECRET) -> dict:
    out = io.StringIO()
    stdin = io.StringIO(f"{secret}\n") if secret is not None else None
    call_command("addcloud", *args, stdout=out, stdin=stdin)
    assert SECRET not in out.getvalue()
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_addcloud_with_keys_checks_them_and_prints_the_cloud_without_the_secret(fault_proxy):
    cloud = addcloud(
        "aws", "--name", "Prod", "--access-key-id", "AKIAPROD", "--secret-stdin", "--endpoint-url", fault_proxy.url
    )

    assert cloud["account_id"] == ACCOUNT_ID and cloud["auth_type"] == "keys" and cloud["status"] == "pending"
    assert "us-east-1" in cloud["regions"] and "eu-west-1" in cloud["regions"]  # every enabled region
    assert cloud["organization"] == "default"  # created: there was none
    stored = CloudAccount.objects.get(pk=cloud["id"])
    assert stored.credentials["secret_access_key"] == SECRET
    assert stored.auth_settings == {"endpoint_url": fault_proxy.url}
    assert fault_proxy.hits["GetCallerIdentity"] == 1


@pytest.mark.django_db
def test_addcloud_honours_regions_and_the_aws_endpoint_url_variable(fault_proxy, organization, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", fault_proxy.url)
    cloud = addcloud("aws", "--name", "Two regions", "--instance-role", "--regions", "eu-west-1,us-east-1", secret=None)
    assert cloud["regions"] == ["eu-west-1", "us-east-1"] and cloud["auth_type"] == "instance_role"
    assert cloud["organization"] == organization.slug  # the only organization


@pytest.mark.django_db
def test_addcloud_with_a_role_onboards_the_account_behind_it(fault_proxy):
    role = "arn:aws:iam::222233334444:role/Audit"
    cloud = addcloud(
        "aws",
        "--name",
        "Audit",
        "--role-arn",
        role,
        "--external-id",
        "ext-123",
        "--instance-role",
        "--regions",
        "us-east-1",
        "--endpoint-url",
        fault_proxy.url,
        secret=None,
    )
    assert cloud["account_id"] == "222233334444" and cloud["auth_type"] == "assume_role"
    assert cloud["auth_settings"]["role_arn"] == role and "ext-123" not in json.dumps(cloud)
    assert CloudAccount.objects.get(pk=cloud["id"]).credentials["external_id"] == "ext-123"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, reason",
    [
        (["--regions", "us-east-1,mars-north-1"], "not enabled for the account: mars-north-1"),
        (["--duration", "60"], "--duration must be between"),
    ],
)
def test_addcloud_refuses_bad_options_and_saves_nothing(fault_proxy, args, reason):
    with pytest.raises(CommandError, match=reason):
        keys = ["--access-key-id", "AKIA1", "--secret-stdin"]
        addcloud("aws", "--name", "X", *keys, "--endpoint-url", fault_proxy.url, *args)
    assert not CloudAccount.objects.exists()


@pytest.mark.django_db
def test_addcloud_refuses_a_role_it_cannot_assume(fault_proxy):
    fault_proxy.add("AssumeRole", 403, "AccessDenied", message="User is not authorized to perform sts:AssumeRole")
    with pytest.raises(CommandError, match="cannot assume arn:aws:iam::222233334444:role/Audit: AccessDenied"):
        addcloud(
            "aws",
            "--name",
            "Audit",
            "--role-arn",
            "arn:aws:iam::222233334444:role/Audit",
            "--instance-role",
            "--endpoint-url",
            fault_proxy.url,
            secret=None,
        )
    assert not CloudAccount.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_addcloud_refuses_bad_credentials_with_one_line_and_a_non_zero_exit(fault_proxy):
    fault_proxy.add(None, 403, "InvalidClientTokenId", message="The security token included in the request is invalid.")
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "addcloud", "aws", "--name", "Bad", "--access-key-id", "AKIABAD"]
        + ["--secret-stdin", "--endpoint-url", fault_proxy.url],
        input=f"{SECRET}\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=process_env(),
        timeout=120,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "CommandError: AWS refused the credentials: InvalidClientTokenId: "
        "The security token included in the request is invalid."
    ]
    assert SECRET not in result.stdout + result.stderr
    assert not CloudAccount.objects.exists()


@pytest.mark.django_db
def test_addcloud_aws_org_onboards_members_and_a_rerun_adds_new_and_closes_gone_ones(fault_proxy, aws):
    organizations = aws("organizations")
    organizations.create_organization(FeatureSet="ALL")
    dev = organizations.create_account(AccountName="dev", Email="d@example.com")["CreateAccountStatus"]["AccountId"]
    prod = organizations.create_account(AccountName="prod", Email="p@example.com")["CreateAccountStatus"]["AccountId"]
    args = ["aws-org", "--name", "Acme", "--role-name", "OrganizationAccountAccessRole", "--access-key-id", "AKIAMGMT"]
    args += ["--secret-stdin", "--regions", "us-east-1", "--endpoint-url", fault_proxy.url]

    first = addcloud(*args)

    assert sorted((c["name"], c["account_id"]) for c in first["added"]) == [("Acme / dev", dev), ("Acme / prod", prod)]
    member = CloudAccount.objects.get(account_id=dev)
    assert member.auth_type == "assume_role" and member.regions == ["us-east-1"]
    assert member.auth_settings["role_arn"] == f"arn:aws:iam::{dev}:role/OrganizationAccountAccessRole"
    assert not CloudAccount.objects.filter(account_id=ACCOUNT_ID).exists()  # the management account is not a member

    stage = organizations.create_account(AccountName="stage", Email="s@example.com")["CreateAccountStatus"]["AccountId"]
    organizations.close_account(AccountId=dev)
    second = addcloud(*args)

    assert [c["account_id"] for c in second["added"]] == [stage]
    assert [c["account_id"] for c in second["closed"]] == [dev]
    assert CloudAccount.objects.get(account_id=dev).status == "closed"
    assert CloudAccount.objects.filter(auth_settings__aws_organization="Acme").count() == 3


@pytest.mark.django_db(transaction=True)
def test_harvest_sync_prints_a_summary_per_type(cloud, aws):
    aws("ec2").create_volume(AvailabilityZone="us-east-1a", Size=1)
    out = io.StringIO()

    call_command("harvest", "--cloud", "Prod AWS", "--types", "aws.ec2.volume,network", "--sync", stdout=out)

    lines = {line.split()[0]: line.split()[1:] for line in out.getvalue().splitlines()}
    assert lines["aws.ec2.volume"][:4] == ["1", "1", "0", "0"]  # seen created modified deleted
    assert lines["aws.ec2.vpc"][:2] == ["2", "2"]  # the default VPC of each region
    assert lines["total"][:2] == ["3", "3"]


@pytest.mark.django_db
def test_harvest_without_sync_enqueues_a_p0_job_and_prints_its_id(cloud):
    out = io.StringIO()
    call_command("harvest", "--cloud", "Prod AWS", "--regions", "us-east-1", stdout=out)

    job = Job.objects.get(pk=int(out.getvalue()))
    assert (job.kind, job.priority, job.cloud_id) == ("harvest", "p0", cloud.pk)
    assert job.arguments == {"cloud_id": cloud.pk, "regions": ["us-east-1"], "types": None}


@pytest.mark.django_db
def test_harvest_refuses_unknown_clouds_and_types(cloud):
    with pytest.raises(CommandError, match="no cloud named 'Nope'"):
        call_command("harvest", "--cloud", "Nope")
    with pytest.raises(CommandError, match="unknown aws resource type"):
        call_command("harvest", "--cloud", "Prod AWS", "--types", "aws.ec2.teapot")


@pytest.mark.django_db(transaction=True)
def test_inventory_streams_json_and_csv_with_the_documented_columns(cloud, aws):
    aws("ec2").create_volume(
        AvailabilityZone="us-east-1a",
        Size=3,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "team", "Value": "data"}]}],
    )
    call_command("harvest", "--cloud", "Prod AWS", "--types", "volume,network", "--sync", stdout=io.StringIO())
    out = io.StringIO()

    call_command("inventory", "--cloud", "Prod AWS", "--type", "volume", "--format", "json", stdout=out)

    (item,) = json.loads(out.getvalue())
    assert set(item) >= {
        "resource_id",
        "name",
        "resource_type",
        "native_type",
        "provider",
        "cloud_name",
        "account_id",
        "region",
        "tags",
        "properties",
        "first_seen",
        "last_seen",
    }
    assert item["resource_type"] == "volume" and item["cloud_name"] == "Prod AWS" and item["account_id"] == ACCOUNT_ID
    assert item["tags"] == {"team": "data"} and item["properties"]["size_gb"] == 3 and item["region"] == "us-east-1"

    out = io.StringIO()
    call_command("inventory", "--region", "eu-west-1", "--format", "csv", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [row["native_type"] for row in rows] == ["aws.ec2.vpc"]
    assert json.loads(rows[0]["properties"])["is_default"] is True

    out = io.StringIO()
    call_command("inventory", "--type", "instance", stdout=out)
    assert json.loads(out.getvalue()) == []
    assert Resource.objects.count() == 3


@pytest.mark.django_db
def test_addcloud_needs_an_organization_choice_when_several_exist(fault_proxy, organization, other_organization):
    with pytest.raises(CommandError, match="--organization"):
        addcloud("aws", "--name", "X", "--instance-role", "--endpoint-url", fault_proxy.url, secret=None)
    assert Organization.objects.count() == 2 and not CloudAccount.objects.exists()


@pytest.mark.django_db
def test_inventory_reads_page_by_page_and_skips_deleted_resources(organization, monkeypatch):
    from harvesters.base import ResourceRecord
    from harvesters.management.commands import inventory
    from harvesters.sync import sync_listing

    cloud = CloudAccount.objects.create(
        organization=organization, provider="aws", name="Paged", account_id="1", auth_type="keys"
    )
    records = [
        ResourceRecord("region", "aws.ec2.region", "global", f"r-{n}", f"r-{n}", {"enabled": True}) for n in range(5)
    ]
    sync_listing(cloud, "aws.ec2.region", "global", records, complete=True)
    sync_listing(cloud, "aws.ec2.region", "global", records[:4], complete=True)  # r-4 is deleted
    monkeypatch.setattr(inventory, "CHUNK", 2)
    out = io.StringIO()

    call_command("inventory", "--cloud", "Paged", stdout=out)

    assert [item["resource_id"] for item in json.loads(out.getvalue())] == ["r-0", "r-1", "r-2", "r-3"]

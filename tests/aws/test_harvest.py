"""harvest_cloud and the "harvest" job: retries, failures, credentials, accounts, cancellation."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harvesters.harvest import harvest_cloud
from insightcloud.inventory.models import CloudAccount, Resource
from scheduler.models import Job, JobStatus
from tests.aws.conftest import ACCOUNT_ID
from tests.processes import ROOT, process_env

SECOND_ACCOUNT = "222233334444"


def volumes(cloud, **filters):
    rows = Resource.objects.filter(cloud=cloud, native_type="aws.ec2.volume", **filters)
    return set(rows.values_list("native_id", flat=True))


@pytest.mark.django_db
def test_a_throttled_listing_is_retried_with_backoff_and_completes(cloud, aws, fault_proxy):
    volume = aws("ec2").create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    fault_proxy.throttle("DescribeVolumes", times=3)  # more than botocore's own retries (2 in tests)

    report = harvest_cloud(cloud, regions=["us-east-1"], types=["aws.ec2.volume"], max_workers=1)

    (listing,) = report.listings
    assert listing.error == "" and listing.attempts == 2
    assert fault_proxy.hits["DescribeVolumes"] == 4  # 3 throttled, then the page
    assert volumes(cloud) == {volume}


@pytest.mark.django_db
def test_a_failing_listing_is_recorded_deletes_nothing_and_the_rest_goes_on(cloud, aws, fault_proxy):
    ec2 = aws("ec2")
    kept = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    gone = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    harvest_cloud(cloud, regions=["us-east-1"], types=["aws.ec2.volume", "aws.ec2.security_group"], max_workers=1)
    ec2.delete_volume(VolumeId=gone)
    ec2.create_security_group(GroupName="new", Description="appears meanwhile")
    fault_proxy.add("DescribeVolumes", 500, "InternalError")  # every time
    job = Job.objects.create(kind="harvest", priority="p2")

    report = harvest_cloud(
        cloud, regions=["us-east-1"], types=["aws.ec2.volume", "aws.ec2.security_group"], job=job, max_workers=1
    )

    failed = {(item.native_type, item.region): item.error for item in report.errors}
    assert list(failed) == [("aws.ec2.volume", "us-east-1")]
    assert "InternalError" in failed["aws.ec2.volume", "us-east-1"]
    assert volumes(cloud, deleted_at__isnull=True) == {kept, gone}  # nothing concluded from a failed listing
    assert report.by_type()["aws.ec2.security_group"]["created"] == 1
    job.refresh_from_db()
    assert "aws.ec2.volume in us-east-1 failed after 3 attempt(s)" in job.log
    cloud.refresh_from_db()
    assert cloud.status == "ok" and cloud.last_harvest_at is not None


@pytest.mark.django_db
def test_invalid_credentials_stop_the_harvest_and_mark_the_cloud(make_cloud, fault_proxy):
    fault_proxy.add(None, 403, "InvalidClientTokenId", message="The security token is invalid.", access_key="AKIABAD")
    cloud = make_cloud(credentials={"access_key_id": "AKIABAD", "secret_access_key": "nope"})

    report = harvest_cloud(cloud, max_workers=1)

    assert report.error.startswith("invalid credentials") and report.listings == []
    cloud.refresh_from_db()
    assert cloud.status == "invalid_credentials"
    assert "InvalidClientTokenId" in cloud.status_detail and "\n" not in cloud.status_detail
    assert not Resource.objects.filter(cloud=cloud).exists()


@pytest.mark.django_db
def test_a_role_that_cannot_be_assumed_marks_the_cloud(make_cloud, fault_proxy):
    fault_proxy.add("AssumeRole", 403, "AccessDenied", message="not authorized to perform sts:AssumeRole")
    cloud = make_cloud(
        account_id=SECOND_ACCOUNT, auth_type="assume_role", role_arn=f"arn:aws:iam::{SECOND_ACCOUNT}:role/Audit"
    )

    report = harvest_cloud(cloud, max_workers=1)

    assert report.error.startswith("assume-role failed")
    cloud.refresh_from_db()
    assert cloud.status == "assume_role_failed" and "AccessDenied" in cloud.status_detail


@pytest.mark.django_db
def test_credentials_of_another_account_are_never_harvested_into_this_cloud(make_cloud, aws):
    cloud = make_cloud(account_id="999988887777")

    report = harvest_cloud(cloud, max_workers=1)

    assert "reach account 123456789012, not 999988887777" in report.error
    assert not Resource.objects.filter(cloud=cloud).exists()


@pytest.mark.django_db
def test_a_paused_cloud_is_not_harvested(cloud):
    cloud.status = "paused"
    cloud.save()
    assert "paused" in harvest_cloud(cloud, max_workers=1).error


@pytest.mark.django_db(transaction=True)
def test_two_accounts_behind_one_moto_harvest_into_separate_clouds_without_mixing(make_cloud, aws):
    role_arn = f"arn:aws:iam::{SECOND_ACCOUNT}:role/InsightCloudAudit"
    assumed = aws("sts").assume_role(RoleArn=role_arn, RoleSessionName="seed")["Credentials"]
    second_ec2 = aws(
        "ec2",
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
    )
    theirs = second_ec2.create_volume(AvailabilityZone="us-east-1a", Size=2)["VolumeId"]
    ours = aws("ec2").create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    first = make_cloud("First", regions=["us-east-1"])
    second = make_cloud(
        "Second", account_id=SECOND_ACCOUNT, regions=["us-east-1"], auth_type="assume_role", role_arn=role_arn
    )

    for cloud in (first, second):  # concurrently inside each harvest (threads)
        report = harvest_cloud(cloud, types=["aws.ec2.volume", "aws.ec2.instance", "aws.ec2.vpc"])
        assert report.ok and report.account_id == cloud.account_id

    assert volumes(first) == {ours} and volumes(second) == {theirs}
    second_vpc = Resource.objects.get(cloud=second, native_type="aws.ec2.vpc")
    assert second_vpc.raw["OwnerId"] == SECOND_ACCOUNT
    assert CloudAccount.objects.get(pk=second.pk).status == "ok"


@pytest.mark.django_db(transaction=True)
def test_the_harvest_job_runs_through_the_scheduler_runner(cloud, aws):
    from scheduler.jobs import get_job_kind
    from scheduler.runner import execute

    aws("ec2").create_volume(AvailabilityZone="eu-west-1a", Size=1)  # outside the default region
    assert get_job_kind("harvest").priority == "p2"
    job = Job.objects.create(
        kind="harvest",
        priority="p0",
        cloud=cloud,
        arguments={"cloud_id": cloud.pk, "regions": None, "types": ["aws.ec2.volume", "aws.ec2.subnet"]},
    )

    assert execute(job.pk) == JobStatus.SUCCEEDED

    job.refresh_from_db()
    assert job.result["types"]["aws.ec2.subnet"]["created"] >= 2 and job.result["errors"] == []
    assert sorted(job.result["regions"]) == ["eu-west-1", "us-east-1"]
    assert "harvest of Prod AWS finished" in job.log


@pytest.mark.django_db(transaction=True)
def test_a_harvest_job_with_bad_credentials_fails_with_a_one_line_error(make_cloud, fault_proxy):
    from scheduler.runner import execute

    fault_proxy.add(None, 403, "InvalidClientTokenId", access_key="AKIABAD")
    cloud = make_cloud(credentials={"access_key_id": "AKIABAD", "secret_access_key": "nope"})
    job = Job.objects.create(kind="harvest", priority="p2", arguments={"cloud_id": cloud.pk})

    assert execute(job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert "invalid credentials" in job.error and "nope" not in job.error + job.log


@pytest.mark.django_db
def test_a_cancel_request_skips_the_remaining_listings(cloud):
    job = Job.objects.create(kind="harvest", priority="p2", cancel_requested=True)

    report = harvest_cloud(cloud, types=["aws.ec2.volume", "aws.ec2.vpc"], job=job, max_workers=1)

    assert report.cancelled and all(item.skipped for item in report.listings)
    assert not Resource.objects.filter(cloud=cloud).exists()


def test_registering_the_harvesters_does_not_load_the_aws_sdk():
    """The interface server imports every app's plug-ins; boto3 must stay unloaded there."""
    code = (
        "import sys, django; django.setup(); "
        "from insightcloud.registry import registry; "
        "assert 'aws.ec2.instance' in registry.names('resource_types'); "
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=process_env(DJANGO_SETTINGS_MODULE="insightcloud.settings"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_account_id_constant_is_motos_default():
    assert ACCOUNT_ID == "123456789012"


@pytest.mark.django_db
def test_an_assumed_role_session_refreshes_itself_before_it_expires(make_cloud):
    from harvesters.base import get_driver

    cloud = make_cloud(
        account_id=SECOND_ACCOUNT, auth_type="assume_role", role_arn=f"arn:aws:iam::{SECOND_ACCOUNT}:role/Audit"
    )
    ctx = get_driver("aws").connect(cloud)

    credentials = ctx.session.get_credentials()
    assert ctx.account_id == SECOND_ACCOUNT
    assert credentials.method == "sts-assume-role" and credentials.refresh_needed() is False


@pytest.mark.django_db
def test_a_running_harvest_reports_its_progress_in_listings(cloud, aws):
    aws("ec2").create_volume(AvailabilityZone="us-east-1a", Size=1)
    job = Job.objects.create(kind="harvest", priority="p2", status=JobStatus.RUNNING)
    types = ["aws.ec2.volume", "aws.ec2.vpc"]
    harvest_cloud(cloud, regions=["us-east-1", "eu-west-1"], types=types, job=job, max_workers=1)
    job.refresh_from_db()
    assert job.progress == {"done": 4, "total": 4, "unit": "listings"}  # 2 types x 2 regions, the last step written

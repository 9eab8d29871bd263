"""On-demand AWS actions as p0 jobs, against moto's server: they check, act, audit and harvest again."""

from __future__ import annotations

import boto3
import pytest
from django.core.management import CommandError, call_command

from insightcloud.accounts.models import AuditEvent
from insightcloud.inventory.models import CloudAccount, Resource
from scheduler import planner
from scheduler.actions import request_action
from scheduler.models import Job, JobStatus
from scheduler.runner import execute
from tests.processes import free_port
from tests.scheduler.kinds import CHAIN_HARVEST

pytestmark = pytest.mark.django_db(transaction=True)
REGION = "us-east-1"


@pytest.fixture(scope="module")
def moto_url():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_url):
    def client(service: str):
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=moto_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


@pytest.fixture
def cloud(organization, moto_url):
    return CloudAccount.objects.create(
        organization=organization,
        provider="aws",
        name="moto",
        account_id="123456789012",
        auth_type="keys",
        auth_settings={"endpoint_url": moto_url},
        credentials={"access_key_id": "testing", "secret_access_key": "testing"},
        regions=[REGION],
    )


def resource(cloud, native_type: str, native_id: str, name: str = "", region: str = REGION, **raw) -> Resource:
    normalized = {"ec2.instance": "instance", "s3.bucket": "storage_container"}
    return Resource.objects.create(
        cloud=cloud,
        provider="aws",
        resource_type=normalized.get(native_type.split(".", 1)[1], "security_group"),
        native_type=native_type,
        region=region,
        native_id=native_id,
        name=name,
        raw=raw,
        fingerprint="x",
    )


def run(name: str, target: Resource, **options) -> Job:
    job, created = request_action(name, target.pk, requested_by=options.pop("by", "alice"), **options)
    assert created and job.priority == "p0"
    execute(job.pk, job.dispatch)
    job.refresh_from_db()
    return job


@pytest.fixture
def instance(aws, cloud):
    ec2 = aws("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance_id = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    return resource(cloud, "aws.ec2.instance", instance_id)


def instance_state(aws, instance_id: str) -> str:
    reply = aws("ec2").describe_instances(InstanceIds=[instance_id])
    return reply["Reservations"][0]["Instances"][0]["State"]["Name"]


def test_stopping_an_instance_is_audited_and_harvests_it_again(aws, instance, monkeypatch):
    monkeypatch.setattr(planner, "HARVEST_KIND", CHAIN_HARVEST)
    job = run("aws.instance.stop", instance)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert instance_state(aws, instance.native_id) == "stopped"
    assert job.result["requested_by"] == "alice"
    assert job.result["outcome"]["state_before"] == "running"
    event = AuditEvent.objects.get(action="action.aws.instance.stop")
    assert event.actor_name == "alice" and event.target == f"aws.ec2.instance {instance.native_id}"
    assert event.details["outcome"]["changed"] is True
    harvest = Job.objects.get(pk=job.result["harvest_job"])
    assert (harvest.kind, harvest.priority) == (CHAIN_HARVEST, "p0")
    assert harvest.arguments == {"cloud_id": instance.cloud_id, "regions": [REGION], "types": ["aws.ec2.instance"]}
    assert harvest.dedup_key == f"harvest:cloud={instance.cloud_id}:region={REGION}:type=aws.ec2.instance"


def test_an_action_refuses_a_resource_not_in_the_expected_state(aws, instance):
    assert run("aws.instance.stop", instance).status == JobStatus.SUCCEEDED
    job = run("aws.instance.reboot", instance)
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert job.error == f"ActionRefused: instance {instance.native_id} is stopped; reboot needs it running"
    assert AuditEvent.objects.get(action="action.aws.instance.reboot").details["outcome"]["error"] == job.error


def test_a_dry_run_reports_what_it_would_do_and_changes_nothing(aws, instance):
    run("aws.instance.stop", instance)
    job = run("aws.instance.start", instance, dry_run=True)
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["outcome"] == {"changed": False, "would": f"start {instance.native_id}", "state": "stopped"}
    assert instance_state(aws, instance.native_id) == "stopped"
    assert AuditEvent.objects.filter(action="action.aws.instance.start.dry_run").exists()
    assert run("aws.instance.start", instance).status == JobStatus.SUCCEEDED
    assert instance_state(aws, instance.native_id) in ("pending", "running")


def test_blocking_a_buckets_public_access(aws, cloud):
    aws("s3").create_bucket(Bucket="open-bucket")
    bucket = resource(cloud, "aws.s3.bucket", "arn:aws:s3:::open-bucket", name="open-bucket")
    assert run("aws.bucket.block_public_access", bucket).status == JobStatus.SUCCEEDED
    config = aws("s3").get_public_access_block(Bucket="open-bucket")["PublicAccessBlockConfiguration"]
    assert all(config.values()) and len(config) == 4
    again = run("aws.bucket.block_public_access", bucket, by="bob")
    assert again.error == "ActionRefused: bucket open-bucket already blocks all public access"


def test_an_action_on_a_resource_gone_from_the_cloud_is_refused(aws, cloud):
    bucket = resource(cloud, "aws.s3.bucket", "arn:aws:s3:::never-made", name="never-made")
    job = run("aws.bucket.block_public_access", bucket)
    assert job.status == JobStatus.FAILED
    assert job.error == "ActionRefused: bucket never-made no longer exists"


def test_revoking_only_the_world_open_ingress_rules_of_a_security_group(aws, cloud):
    ec2 = aws("ec2")
    group = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        ],
    )
    target = resource(cloud, "aws.ec2.security_group", group)
    job = run("aws.security_group.revoke_world_ingress", target)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["outcome"]["revoked"] == ["tcp 22-22"]
    left = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
    assert [(p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in left] == [(443, ["10.0.0.0/8"])]


def test_deactivating_an_iam_access_key(aws, cloud):
    iam = aws("iam")
    iam.create_user(UserName="deploy")
    key = iam.create_access_key(UserName="deploy")["AccessKey"]["AccessKeyId"]
    user = resource(cloud, "aws.iam.user", "arn:aws:iam::123456789012:user/deploy", name="deploy", region="global")
    with pytest.raises(ValueError, match="needs --param access_key_id=VALUE"):
        request_action("aws.access_key.deactivate", user.pk)
    job = run("aws.access_key.deactivate", user, params={"access_key_id": key})
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert iam.list_access_keys(UserName="deploy")["AccessKeyMetadata"][0]["Status"] == "Inactive"


def test_bad_action_requests_are_refused_with_one_line(cloud, instance):
    bucket = resource(cloud, "aws.s3.bucket", "arn:aws:s3:::b", name="b")
    with pytest.raises(ValueError, match="aws.instance.stop applies to aws.ec2.instance, not to aws.s3.bucket"):
        request_action("aws.instance.stop", bucket.pk)
    with pytest.raises(ValueError, match="no live resource with id 999999"):
        request_action("aws.instance.stop", 999999)
    with pytest.raises(ValueError, match="unknown action 'aws.instance.explode'"):
        request_action("aws.instance.explode", instance.pk)
    with pytest.raises(CommandError, match="--resource ID is required"):
        call_command("action", "aws.instance.stop")
    assert not Job.objects.exists()


def test_the_action_command_enqueues_a_p0_job(instance, capsys):
    call_command("action", "aws.instance.reboot", resource=instance.pk, dry_run=True)
    job = Job.objects.get()
    assert (job.kind, job.priority, job.arguments["dry_run"]) == ("action", "p0", True)
    assert job.requested_by.startswith("cli:")
    assert f"enqueued job {job.pk}" in capsys.readouterr().out


def test_the_export_job_sends_the_backlog_per_priority_to_cloudwatch(aws, moto_url, settings, monkeypatch):
    from scheduler.diagnostics import queue_depths
    from scheduler.metrics import EXPORT_KIND
    from scheduler.runner import enqueue

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings.METRICS_BACKEND = "cloudwatch"
    settings.METRICS_ENDPOINT_URL = moto_url
    settings.METRICS_NAMESPACE = "InsightCloudTest"
    export, _ = enqueue(EXPORT_KIND)
    depths = queue_depths()
    assert execute(export.pk, export.dispatch) == JobStatus.SUCCEEDED
    export.refresh_from_db()
    expected = {"Immediate": depths["p0"], "High Priority": depths["p1"] - 1, "Standard": depths["p2"]}
    if not settings.EMBEDDED_BROKER:
        expected["High Priority"] += 1  # with Redis the message is consumed from the list only by a worker
    assert export.result["backlog"] == expected
    metrics = aws("cloudwatch").list_metrics(Namespace="InsightCloudTest")["Metrics"]
    assert {m["MetricName"] for m in metrics} == {"Immediate", "High Priority", "Standard"}

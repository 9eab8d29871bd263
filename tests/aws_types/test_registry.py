"""Every AWS service collector is registered with its metadata, from one import point."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from harvesters.aws import services
from harvesters.base import resource_types_for
from harvesters.normalized import TYPES
from tests.processes import process_env

EXPECTED = {
    "aws.s3.bucket": "storage_container",
    "aws.iam.user": "service_user",
    "aws.iam.role": "service_role",
    "aws.iam.policy": "service_policy",
    "aws.iam.group": "service_group",
    "aws.iam.account": "cloud_account",
    "aws.kms.key": "encryption_key",
    "aws.rds.db_instance": "database_instance",
    "aws.rds.db_snapshot": "database_snapshot",
    "aws.lambda.function": "serverless_function",
    "aws.sqs.queue": "message_queue",
    "aws.sns.topic": "notification_topic",
    "aws.cloudtrail.trail": "api_accounting_config",
    "aws.elbv2.load_balancer": "load_balancer",
    "aws.elb.load_balancer": "load_balancer",
    "aws.acm.certificate": "certificate",
    "aws.route53.hosted_zone": "dns_zone",
    "aws.dynamodb.table": "nosql_table",
    "aws.eks.cluster": "container_cluster",
    "aws.secretsmanager.secret": "secret",
    "aws.logs.log_group": "log_group",
    "aws.ecr.repository": "container_registry",
}
GLOBAL_TYPES = {
    "aws.iam.user",
    "aws.iam.role",
    "aws.iam.policy",
    "aws.iam.group",
    "aws.iam.account",
    "aws.route53.hosted_zone",
}


def test_services_load_every_module():
    modules = services.load()
    assert [m.__name__.rsplit(".", 1)[-1] for m in modules] == list(services.MODULES)
    assert "ec2" not in services.MODULES


def test_every_service_collector_is_registered_with_metadata():
    specs = {spec.native_type: spec for spec in resource_types_for("aws")}
    for native_type, normalized in EXPECTED.items():
        spec = specs[native_type]
        assert spec.resource_type == normalized and normalized in TYPES
        assert spec.description, f"{native_type} has no docstring"
        assert spec.permissions and all(":" in p for p in spec.permissions), native_type
        assert 15 <= spec.interval_minutes <= 240, native_type
        assert spec.scope == ("global" if native_type in GLOBAL_TYPES else "regional"), native_type
        assert inspect.isgeneratorfunction(spec.collect), f"{native_type} must yield page by page"


def test_iam_and_storage_intervals():
    specs = {spec.native_type: spec for spec in resource_types_for("aws")}
    assert specs["aws.iam.user"].interval_minutes == 120
    assert specs["aws.s3.bucket"].interval_minutes == 30
    assert specs["aws.iam.account"].interval_minutes == 240


def test_registering_the_service_collectors_does_not_load_the_aws_sdk():
    """The interface server imports every plug-in; boto3 must stay unloaded there (lazy SDK imports)."""
    code = (
        "import sys, django; django.setup(); "
        "from insightcloud.registry import registry; from harvesters.aws import services; "
        "ctx = registry.unlocked(); ctx.__enter__(); services.load(); ctx.__exit__(); "
        "assert 'aws.s3.bucket' in registry.names('resource_types'); "
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=process_env(DJANGO_SETTINGS_MODULE="insightcloud.settings"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

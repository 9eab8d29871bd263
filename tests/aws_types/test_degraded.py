"""A sub-call AWS refuses (a permission we lack, an API an endpoint lacks) leaves its property None;
the listing itself still completes. A listing call that fails raises, so nothing is concluded deleted."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

from harvesters.aws import iam as iam_module
from harvesters.aws import kms as kms_module
from harvesters.aws import s3 as s3_module
from harvesters.aws import support
from harvesters.aws.session import classify
from harvesters.base import GLOBAL, PermissionDenied
from harvesters.normalized import missing_properties
from tests.aws_types.conftest import REGION, collect
from tests.aws_types.faults import Fault


def test_denied_bucket_policy_leaves_policy_properties_unknown(aws, faulty):
    proxy, ctx = faulty
    aws.client("s3", REGION).create_bucket(Bucket="guarded")
    proxy.faults.append(Fault("GET", "?policy", 403, "AccessDenied"))
    bucket = collect(s3_module.collect_buckets, ctx)["guarded"]
    assert proxy.faults[0].hits >= 1
    props = bucket.properties
    assert missing_properties("storage_container", props) == []
    assert props["https_only"] is None  # the policy decides it, and it could not be read
    assert props["policy"] is None
    assert "policy" in bucket.raw["Unavailable"]
    assert props["versioning_enabled"] is False  # the rest is still harvested


def test_denied_account_public_access_block_is_unknown_not_false(aws, faulty):
    proxy, ctx = faulty
    aws.client("s3", REGION).create_bucket(Bucket="plain")
    proxy.faults.append(Fault("GET", "/v20180820/configuration/publicAccessBlock", 403, "AccessDenied"))
    bucket = collect(s3_module.collect_buckets, ctx)["plain"]
    assert bucket.properties["account_public_access_block"] is None
    account = next(iam_module.collect_account(ctx, GLOBAL))
    assert account.properties["public_access_block"] is None


def test_denied_mfa_listing_leaves_mfa_unknown(aws, faulty):
    proxy, ctx = faulty
    aws.client("iam").create_user(UserName="someone")
    proxy.faults.append(Fault("POST", "Action=ListMFADevices", 403, "AccessDenied"))
    user = collect(iam_module.collect_users, ctx, GLOBAL)["someone"]
    assert proxy.faults[0].hits == 1
    assert user.properties["mfa_enabled"] is None
    assert user.properties["console_access"] is False
    assert user.properties["access_keys"] == []


def test_kms_rotation_status_not_implemented_is_unknown(aws, faulty):
    proxy, ctx = faulty
    key = aws.client("kms", REGION).create_key()["KeyMetadata"]
    proxy.faults.append(Fault("POST", "TrentService.GetKeyRotationStatus", 501, "NotImplemented", protocol="json"))
    record = next(iter(kms_module.collect_keys(ctx, REGION)))
    assert record.native_id == key["Arn"]
    assert record.properties["rotation_enabled"] is None
    assert record.properties["state"] == "enabled"


def test_failing_listing_raises_so_nothing_is_deleted(aws, faulty):
    proxy, ctx = faulty
    proxy.faults.append(Fault("POST", "TrentService.ListKeys", 403, "AccessDeniedException", protocol="json"))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        list(kms_module.collect_keys(ctx, REGION))
    assert isinstance(classify(caught.value), PermissionDenied)


def client_error(code: str, status: int) -> botocore.exceptions.ClientError:
    response = {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return botocore.exceptions.ClientError(response, "Op")


def raising(exc: Exception):
    def call():
        raise exc

    return call


def test_optional_sub_call_outcomes():
    assert support.optional(lambda: {"ok": 1}) == {"ok": 1}
    assert support.optional(raising(client_error("NoSuchBucketPolicy", 404)), absent=("NoSuchBucketPolicy",)) is None
    assert support.optional(raising(client_error("AccessDenied", 403))) is support.UNAVAILABLE
    assert support.optional(raising(client_error("NotImplemented", 501))) is support.UNAVAILABLE
    with pytest.raises(botocore.exceptions.ClientError):
        support.optional(raising(client_error("Throttling", 400)))
    with pytest.raises(botocore.exceptions.ClientError):
        support.optional(raising(client_error("InternalError", 500)))


@pytest.mark.parametrize(
    ("statement", "public"),
    [
        ({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}, True),
        ({"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "sqs:SendMessage"}, True),
        ({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "*"}, False),
        ({"Effect": "Deny", "Principal": "*", "Action": "*"}, False),
        (
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "sns:Publish",
                "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}},
            },
            False,
        ),
        (
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Condition": {"StringEquals": {"s3:ExistingObjectTag/public": "yes"}},
            },
            True,
        ),
    ],
)
def test_public_statements(statement, public):
    assert bool(support.public_statements({"Statement": [statement]})) is public


def test_raw_records_are_json_safe():
    import datetime as dt

    raw = support.json_safe(
        {"When": dt.datetime(2024, 5, 1, 12, 0), "Blob": b"\x00\x01", "ResponseMetadata": {"RequestId": "x"}}
    )
    assert raw == {"When": "2024-05-01T12:00:00+00:00", "Blob": "AAE="}
    json.dumps(raw)


def test_global_services_are_called_in_the_partitions_home_region(aws):
    assert support.global_region(aws) == "us-east-1"
    aws.partition = "aws-us-gov"
    assert support.global_region(aws) == "us-gov-west-1"


def test_denied_credential_report_falls_back_to_the_account_summary(aws, faulty):
    proxy, ctx = faulty
    proxy.faults.append(Fault("POST", "Action=GenerateCredentialReport", 403, "AccessDenied"))
    account = next(iam_module.collect_account(ctx, GLOBAL))
    assert proxy.faults[0].hits == 1
    props = account.properties
    assert missing_properties("cloud_account", props) == []
    assert props["credential_report_available"] is False
    assert props["root_mfa_enabled"] is False  # AccountMFAEnabled from GetAccountSummary
    assert props["summary"]["AccountMFAEnabled"] == 0


def test_bucket_of_unknown_region_fails_the_listing_rather_than_vanishing(aws, faulty):
    from harvesters.base import HarvestError

    proxy, ctx = faulty
    aws.client("s3", REGION).create_bucket(Bucket="somewhere")
    proxy.faults.append(Fault("GET", "?location", 403, "AccessDenied"))
    with pytest.raises(HarvestError, match="somewhere"):
        list(s3_module.collect_buckets(ctx, REGION))

from __future__ import annotations

import json

from harvesters.aws import s3 as s3_module
from harvesters.normalized import missing_properties
from tests.aws_types.conftest import REGION, collect

BLOCK_ALL = {key: True for key in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}


def public_read_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
            ],
        }
    )


def tls_only_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def make_estate(aws):
    s3 = aws.client("s3", REGION)
    s3.create_bucket(Bucket="open-bucket", ACL="public-read")
    s3.put_bucket_policy(Bucket="open-bucket", Policy=public_read_policy("open-bucket"))
    s3.create_bucket(Bucket="log-bucket", ACL="log-delivery-write")
    s3.create_bucket(Bucket="safe-bucket")
    s3.put_public_access_block(Bucket="safe-bucket", PublicAccessBlockConfiguration=BLOCK_ALL)
    s3.put_bucket_encryption(
        Bucket="safe-bucket",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "key-1"}}]
        },
    )
    s3.put_bucket_versioning(Bucket="safe-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_logging(
        Bucket="safe-bucket",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "log-bucket", "TargetPrefix": "safe/"}},
    )
    s3.put_bucket_policy(Bucket="safe-bucket", Policy=tls_only_policy("safe-bucket"))
    s3.put_bucket_tagging(Bucket="safe-bucket", Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})


def test_public_bucket_is_flagged_with_reasons(aws):
    make_estate(aws)
    bucket = collect(s3_module.collect_buckets, aws)["open-bucket"]
    props = bucket.properties
    assert missing_properties("storage_container", props) == []
    assert props["public"] is True
    assert "ACL grants AllUsers READ" in props["public_reasons"]
    assert any("s3:GetObject to everyone" in reason for reason in props["public_reasons"])
    assert props["policy_is_public"] is True
    assert props["encrypted"] is False
    assert props["versioning_enabled"] is False
    assert props["logging_enabled"] is False
    assert props["https_only"] is False
    assert props["public_access_block"] is False
    assert props["account_public_access_block"] is False
    assert bucket.native_id == "arn:aws:s3:::open-bucket"
    assert bucket.region == REGION
    json.dumps(bucket.raw)


def test_well_configured_bucket_reports_its_protections(aws):
    make_estate(aws)
    bucket = collect(s3_module.collect_buckets, aws)["safe-bucket"]
    props = bucket.properties
    assert missing_properties("storage_container", props) == []
    assert props["public"] is False and props["public_reasons"] == []
    assert props["encrypted"] is True
    assert props["kms_key_id"] == "key-1"
    assert props["encryption_algorithm"] == "aws:kms"
    assert props["versioning_enabled"] is True
    assert props["logging_enabled"] is True and props["logging_target"] == "log-bucket"
    assert props["https_only"] is True
    assert props["public_access_block"] is True
    assert props["policy"]["Statement"][0]["Effect"] == "Deny"
    assert bucket.tags == {"team": "data"}


def test_account_level_public_access_block_neutralises_public_acl_and_policy(aws):
    make_estate(aws)
    control = s3_module.s3control_client(aws, REGION)
    control.put_public_access_block(AccountId=aws.account_id, PublicAccessBlockConfiguration=BLOCK_ALL)
    bucket = collect(s3_module.collect_buckets, aws)["open-bucket"]
    assert bucket.properties["account_public_access_block"] is True
    assert bucket.properties["public"] is False
    assert bucket.properties["public_reasons"] == []
    # the bucket's own settings are still reported as they are
    assert bucket.properties["public_access_block"] is False
    assert bucket.properties["policy_is_public"] is True


def test_buckets_are_listed_in_their_own_region(aws):
    s3 = aws.client("s3", REGION)
    s3.create_bucket(Bucket="home-bucket")
    s3.create_bucket(Bucket="paris-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    assert set(collect(s3_module.collect_buckets, aws)) == {"home-bucket"}
    paris = collect(s3_module.collect_buckets, aws, "eu-west-3")
    assert set(paris) == {"paris-bucket"}
    assert paris["paris-bucket"].region == "eu-west-3"


def test_authenticated_users_grant_is_public():
    grants = s3_module.acl_grants(
        {"Grants": [{"Grantee": {"Type": "Group", "URI": s3_module.AUTHENTICATED_USERS}, "Permission": "WRITE"}]}
    )
    assert grants == [{"grantee_type": "Group", "grantee": "AuthenticatedUsers", "permission": "WRITE"}]

from __future__ import annotations

import json

from harvesters.aws import acm as acm_module
from harvesters.aws import dynamodb as dynamodb_module
from harvesters.aws import ecr as ecr_module
from harvesters.aws import eks as eks_module
from harvesters.aws import logs as logs_module
from harvesters.aws import route53 as route53_module
from harvesters.aws import secretsmanager as secretsmanager_module
from harvesters.base import GLOBAL
from harvesters.normalized import missing_properties
from tests.aws_types.conftest import LAMBDA_TRUST, REGION, collect, make_function


def test_acm_certificates_carry_domain_expiry_and_status(aws):
    acm = aws.client("acm", REGION)
    arn = acm.request_certificate(
        DomainName="shop.example.com",
        SubjectAlternativeNames=["www.shop.example.com"],
        Tags=[{"Key": "app", "Value": "shop"}],
    )["CertificateArn"]
    certificate = collect(acm_module.collect_certificates, aws)["shop.example.com"]
    props = certificate.properties
    assert missing_properties("certificate", props) == []
    assert certificate.native_id == arn
    assert props["domain"] == "shop.example.com"
    assert props["status"] in ("PENDING_VALIDATION", "ISSUED")
    assert props["expires_at"] is None or props["expires_at"].startswith("20")
    assert "www.shop.example.com" in props["alternative_names"]
    assert certificate.tags == {"app": "shop"}
    json.dumps(certificate.raw)


def test_route53_public_and_private_zones(aws):
    route53 = aws.client("route53")
    vpc = aws.client("ec2", REGION).create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    public_id = route53.create_hosted_zone(Name="example.com", CallerReference="one")["HostedZone"]["Id"]
    route53.create_hosted_zone(
        Name="corp.internal",
        CallerReference="two",
        HostedZoneConfig={"PrivateZone": True, "Comment": "inside"},
        VPC={"VPCRegion": REGION, "VPCId": vpc},
    )
    zone_id = public_id.rsplit("/", 1)[-1]
    route53.change_tags_for_resource(
        ResourceType="hostedzone", ResourceId=zone_id, AddTags=[{"Key": "owner", "Value": "web"}]
    )
    zones = collect(route53_module.collect_hosted_zones, aws, GLOBAL)
    public = zones["example.com"]
    assert missing_properties("dns_zone", public.properties) == []
    assert public.properties["private"] is False
    assert public.properties["record_count"] >= 2  # SOA and NS
    assert public.region == GLOBAL
    assert public.native_id == f"arn:aws:route53:::hostedzone/{zone_id}"
    assert public.tags == {"owner": "web"}
    assert public.properties["query_logging_enabled"] is False
    assert zones["corp.internal"].properties["private"] is True


def test_dynamodb_tables_encryption_and_point_in_time_recovery(aws):
    dynamodb = aws.client("dynamodb", REGION)
    schema = {
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    dynamodb.create_table(TableName="plain", **schema)
    dynamodb.create_table(
        TableName="guarded",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": "alias/orders"},
        Tags=[{"Key": "data", "Value": "pii"}],
        **schema,
    )
    dynamodb.update_continuous_backups(
        TableName="guarded", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    tables = collect(dynamodb_module.collect_tables, aws)
    plain = tables["plain"].properties
    assert missing_properties("nosql_table", plain) == []
    assert plain["encrypted"] is True and plain["encryption_type"] == "AWS_OWNED"
    assert plain["point_in_time_recovery"] is False
    guarded = tables["guarded"]
    assert guarded.properties["point_in_time_recovery"] is True
    assert guarded.properties["encryption_type"] == "KMS"
    assert guarded.tags == {"data": "pii"}
    assert "ItemCount" not in guarded.raw
    json.dumps(guarded.raw)


def test_eks_cluster_endpoint_exposure_and_logging(aws):
    ec2 = aws.client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.2.1.0/24")["Subnet"]["SubnetId"]
    eks = aws.client("eks", REGION)
    role = "arn:aws:iam::123456789012:role/eks"
    eks.create_cluster(
        name="open-cluster",
        roleArn=role,
        resourcesVpcConfig={"subnetIds": [subnet], "endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]},
    )
    eks.create_cluster(
        name="closed-cluster",
        version="1.31",
        roleArn=role,
        resourcesVpcConfig={"subnetIds": [subnet], "endpointPublicAccess": False, "endpointPrivateAccess": True},
        logging={"clusterLogging": [{"types": ["api", "audit"], "enabled": True}]},
        tags={"tier": "core"},
    )
    clusters = collect(eks_module.collect_clusters, aws)
    open_cluster = clusters["open-cluster"].properties
    assert missing_properties("container_cluster", open_cluster) == []
    assert open_cluster["endpoint_public"] is True and open_cluster["endpoint_open_to_world"] is True
    assert open_cluster["logging_enabled"] is False
    closed = clusters["closed-cluster"]
    assert closed.properties["endpoint_public"] is False and closed.properties["endpoint_private"] is True
    assert closed.properties["logging_enabled"] is True
    assert closed.properties["log_types"] == ["api", "audit"]
    assert closed.properties["version"] == "1.31"
    assert closed.tags == {"tier": "core"}
    json.dumps(closed.raw)


def test_secrets_rotation_and_policy_without_reading_values(aws):
    secrets = aws.client("secretsmanager", REGION)
    secrets.create_secret(Name="static-password", SecretString="hunter2", Tags=[{"Key": "app", "Value": "crm"}])
    rotating = secrets.create_secret(Name="rotated-password", SecretString="s3cr3t", KmsKeyId="alias/secrets")["ARN"]
    rotator = make_rotation_function(aws)
    secrets.rotate_secret(SecretId=rotating, RotationLambdaARN=rotator, RotationRules={"AutomaticallyAfterDays": 30})
    found = collect(secretsmanager_module.collect_secrets, aws)
    static = found["static-password"]
    assert missing_properties("secret", static.properties) == []
    assert static.properties["rotation_enabled"] is False
    assert static.properties["last_rotated_at"] is None
    assert static.tags == {"app": "crm"}
    rotated = found["rotated-password"].properties
    assert rotated["rotation_enabled"] is True and rotated["rotation_interval_days"] == 30
    assert rotated["kms_key_id"] == "alias/secrets"
    everything = json.dumps([record.raw for record in found.values()])
    assert "hunter2" not in everything and "s3cr3t" not in everything


def make_rotation_function(aws) -> str:
    role = aws.client("iam").create_role(RoleName="rotator", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    return make_function(aws, "rotate", role["Role"]["Arn"])


def test_log_groups_retention_and_kms(aws):
    logs = aws.client("logs", REGION)
    logs.create_log_group(logGroupName="/app/forever", tags={"team": "app"})
    logs.create_log_group(logGroupName="/app/kept", kmsKeyId="arn:aws:kms:us-east-1:123456789012:key/logs")
    logs.put_retention_policy(logGroupName="/app/kept", retentionInDays=365)
    groups = collect(logs_module.collect_log_groups, aws)
    forever = groups["/app/forever"]
    assert missing_properties("log_group", forever.properties) == []
    assert forever.properties["retention_days"] is None and forever.properties["never_expires"] is True
    assert forever.properties["kms_key_id"] is None
    assert forever.tags == {"team": "app"}
    kept = groups["/app/kept"].properties
    assert kept["retention_days"] == 365 and kept["kms_key_id"].endswith("key/logs")
    assert "storedBytes" not in groups["/app/kept"].raw
    assert not forever.native_id.endswith(":*")


def test_ecr_repositories_scan_mutability_and_public_policy(aws):
    ecr = aws.client("ecr", REGION)
    ecr.create_repository(repositoryName="open-images")
    ecr.set_repository_policy(
        repositoryName="open-images",
        policyText=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Sid": "pull", "Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage"]}],
            }
        ),
    )
    ecr.create_repository(
        repositoryName="safe-images",
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        tags=[{"Key": "team", "Value": "platform"}],
    )
    repos = collect(ecr_module.collect_repositories, aws)
    open_repo = repos["open-images"].properties
    assert missing_properties("container_registry", open_repo) == []
    assert open_repo["public"] is True and open_repo["scan_on_push"] is False and open_repo["tag_immutable"] is False
    safe = repos["safe-images"]
    assert safe.properties["public"] is False and safe.properties["policy"] is None
    assert safe.properties["scan_on_push"] is True and safe.properties["tag_immutable"] is True
    assert safe.tags == {"team": "platform"}
    json.dumps(safe.raw)

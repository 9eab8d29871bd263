from __future__ import annotations

import json

from harvesters.aws import cloudtrail as cloudtrail_module
from harvesters.aws import elb as elb_module
from harvesters.normalized import missing_properties
from tests.aws_types.conftest import REGION, collect


def make_trail_bucket(aws, name: str, region: str = REGION) -> None:
    s3 = aws.client("s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})


def test_trails_report_multi_region_logging_validation_and_kms(aws):
    make_trail_bucket(aws, "trail-logs")
    cloudtrail = aws.client("cloudtrail", REGION)
    cloudtrail.create_trail(
        Name="org-audit",
        S3BucketName="trail-logs",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/abc",
        TagsList=[{"Key": "team", "Value": "sec"}],
    )
    cloudtrail.start_logging(Name="org-audit")
    # moto starts a trail with no event selectors (AWS records all management events by default)
    cloudtrail.put_event_selectors(
        TrailName="org-audit", EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )
    cloudtrail.create_trail(Name="forgotten", S3BucketName="trail-logs")

    trails = collect(cloudtrail_module.collect_trails, aws)
    audit = trails["org-audit"]
    assert missing_properties("api_accounting_config", audit.properties) == []
    assert audit.properties["multi_region"] is True
    assert audit.properties["logging"] is True
    assert audit.properties["log_file_validation"] is True
    assert audit.properties["kms_key_id"].endswith("key/abc")
    assert audit.properties["management_events"] == "All"
    assert audit.tags == {"team": "sec"}
    forgotten = trails["forgotten"].properties
    assert forgotten["multi_region"] is False and forgotten["logging"] is False
    assert not forgotten["log_file_validation"] and forgotten["kms_key_id"] is None
    assert forgotten["management_events"] == "None"
    json.dumps(audit.raw)


def test_multi_region_trail_is_harvested_only_in_its_home_region(aws):
    make_trail_bucket(aws, "trail-logs")
    aws.client("cloudtrail", REGION).create_trail(Name="everywhere", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    assert set(collect(cloudtrail_module.collect_trails, aws)) == {"everywhere"}
    assert collect(cloudtrail_module.collect_trails, aws, "eu-west-1") == {}


def network(aws):
    ec2 = aws.client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in ((1, "a"), (2, "b"))
    ]
    return vpc, subnets


def test_application_load_balancer_listeners_and_tls_policy(aws):
    vpc, subnets = network(aws)
    elbv2 = aws.client("elbv2", REGION)
    acm = aws.client("acm", REGION)
    certificate = acm.request_certificate(DomainName="shop.example.com")["CertificateArn"]
    web = elbv2.create_load_balancer(
        Name="web",
        Subnets=subnets,
        Scheme="internet-facing",
        Type="application",
        Tags=[{"Key": "app", "Value": "shop"}],
    )["LoadBalancers"][0]["LoadBalancerArn"]
    group = elbv2.create_target_group(Name="tg", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0][
        "TargetGroupArn"
    ]
    forward = [{"Type": "forward", "TargetGroupArn": group}]
    elbv2.create_listener(LoadBalancerArn=web, Protocol="HTTP", Port=80, DefaultActions=forward)
    elbv2.create_listener(
        LoadBalancerArn=web,
        Protocol="HTTPS",
        Port=443,
        SslPolicy="ELBSecurityPolicy-2016-08",
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=forward,
    )
    internal = elbv2.create_load_balancer(Name="api", Subnets=subnets, Scheme="internal", Type="application")[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    elbv2.create_listener(
        LoadBalancerArn=internal,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[
            {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
        ],
    )
    elbv2.create_listener(
        LoadBalancerArn=internal,
        Protocol="HTTPS",
        Port=443,
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=forward,
    )
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=internal,
        Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"},
            {"Key": "access_logs.s3.bucket", "Value": "lb-logs"},
        ],
    )

    balancers = collect(elb_module.collect_v2_load_balancers, aws)
    props = balancers["web"].properties
    assert missing_properties("load_balancer", props) == []
    assert props["scheme"] == "internet-facing"
    assert [(item["protocol"], item["port"]) for item in props["listeners"]] == [("HTTP", 80), ("HTTPS", 443)]
    assert props["listeners"][1]["certificate"] == certificate
    assert props["tls_policy"] == "ELBSecurityPolicy-2016-08"
    assert props["https_only"] is False
    assert props["logging_enabled"] is False
    assert balancers["web"].tags == {"app": "shop"}
    api = balancers["api"].properties
    assert api["scheme"] == "internal"
    assert api["https_only"] is True  # plain HTTP only redirects to HTTPS
    assert api["tls_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert api["logging_enabled"] is True


def test_classic_load_balancer_listeners(aws):
    elb = aws.client("elb", REGION)
    elb.create_load_balancer(
        LoadBalancerName="legacy",
        Listeners=[
            {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 8080},
            {
                "Protocol": "HTTPS",
                "LoadBalancerPort": 443,
                "InstancePort": 8080,
                "SSLCertificateId": "arn:aws:iam::123456789012:server-certificate/legacy",
            },
        ],
        AvailabilityZones=[f"{REGION}a"],
        Scheme="internet-facing",
        Tags=[{"Key": "era", "Value": "2012"}],
    )
    elb.create_load_balancer_policy(
        LoadBalancerName="legacy",
        PolicyName="tls-policy",
        PolicyTypeName="SSLNegotiationPolicyType",
        PolicyAttributes=[
            {"AttributeName": "Reference-Security-Policy", "AttributeValue": "ELBSecurityPolicy-TLS-1-2-2017-01"}
        ],
    )
    elb.set_load_balancer_policies_of_listener(
        LoadBalancerName="legacy", LoadBalancerPort=443, PolicyNames=["tls-policy"]
    )

    legacy = collect(elb_module.collect_classic_load_balancers, aws)["legacy"]
    props = legacy.properties
    assert missing_properties("load_balancer", props) == []
    assert props["scheme"] == "internet-facing"
    assert [(item["protocol"], item["port"]) for item in props["listeners"]] == [("HTTP", 80), ("HTTPS", 443)]
    assert props["tls_policy"] == "ELBSecurityPolicy-TLS-1-2-2017-01"
    assert props["https_only"] is False
    assert props["logging_enabled"] is False
    assert legacy.tags == {"era": "2012"}
    assert legacy.native_id.endswith(":loadbalancer/legacy")
    json.dumps(legacy.raw)

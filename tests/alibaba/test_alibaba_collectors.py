"""Every Alibaba type harvested from the fake into its normalized properties (no database needed)."""

from __future__ import annotations

import pytest

from harvesters.base import GLOBAL, resource_types_for
from harvesters.normalized import missing_properties

HZ = "cn-hangzhou"


def harvest(ctx, native_type: str, region: str = HZ) -> dict:
    """native id (or name) -> record, from the registered collector of ``native_type``."""
    (spec,) = [s for s in resource_types_for("alibaba") if s.native_type == native_type]
    records = list(spec.collect(ctx, GLOBAL if spec.scope == "global" else region))
    return {
        r.name if r.resource_type in ("storage_container", "service_user", "service_policy") else r.native_id: r
        for r in records
    }


def test_every_type_of_the_issue_is_registered():
    native = {s.native_type: s.resource_type for s in resource_types_for("alibaba")}

    assert native == {
        "alibaba.ecs.region": "region",
        "alibaba.ecs.instance": "instance",
        "alibaba.ecs.security_group": "security_group",
        "alibaba.ecs.disk": "volume",
        "alibaba.ecs.snapshot": "snapshot",
        "alibaba.vpc.vpc": "network",
        "alibaba.vpc.vswitch": "subnet",
        "alibaba.oss.bucket": "storage_container",
        "alibaba.ram.user": "service_user",
        "alibaba.ram.policy": "service_policy",
        "alibaba.ram.account": "cloud_account",
        "alibaba.rds.instance": "database_instance",
        "alibaba.kms.key": "encryption_key",
        "alibaba.actiontrail.trail": "api_accounting_config",
        "alibaba.slb.load_balancer": "load_balancer",
    }
    for spec in resource_types_for("alibaba"):
        assert spec.description and spec.permissions, spec.native_type


@pytest.mark.parametrize("spec", resource_types_for("alibaba"), ids=lambda s: s.native_type)
def test_every_record_fills_every_common_key_of_its_type(alibaba_ctx, spec):
    records = list(spec.collect(alibaba_ctx, GLOBAL if spec.scope == "global" else HZ))

    assert records, f"the fake serves some {spec.native_type}"
    for record in records:
        assert record.resource_type == spec.resource_type
        assert record.native_type == spec.native_type
        assert missing_properties(record.resource_type, record.properties) == [], record.native_id
        assert record.region == (GLOBAL if spec.scope == "global" else HZ)


def test_regions_are_listed_with_their_availability(alibaba_ctx, alibaba_fake):
    alibaba_fake.state["regions"].append({"RegionId": "cn-closed", "LocalName": "Closed", "Status": "soldOut"})

    regions = harvest(alibaba_ctx, "alibaba.ecs.region")

    assert regions["cn-hangzhou"].properties["enabled"] is True
    assert regions["cn-closed"].properties["enabled"] is False


def test_instance_public_ips_include_eips_and_groups_and_role_are_kept(alibaba_ctx):
    instances = harvest(alibaba_ctx, "alibaba.ecs.instance")

    bastion = instances["i-public"].properties
    assert bastion["has_public_ip"] and bastion["public_ips"] == ["47.0.0.1"]
    assert bastion["security_groups"] == ["sg-open"]
    assert bastion["network_id"] == "vpc-open" and bastion["subnet_id"] == "vsw-a"
    assert bastion["state"] == "running" and bastion["private_ips"] == ["10.0.1.5"]
    assert instances["i-public"].tags == {"env": "prod"}
    assert instances["i-eip"].properties["public_ips"] == ["47.0.0.9"]
    app = instances["i-private"].properties
    assert not app["has_public_ip"] and app["state"] == "stopped" and app["identity"] == "app-role"


def test_security_group_rules_are_normalized_like_aws(alibaba_ctx):
    groups = harvest(alibaba_ctx, "alibaba.ecs.security_group")

    open_group = groups["sg-open"].properties
    assert open_group["ingress"] == [
        {
            "protocol": "tcp",
            "from_port": 22,
            "to_port": 22,
            "cidr": "0.0.0.0/0",
            "source_group": None,
            "action": "allow",
            "description": "ssh",
            "priority": 1,
        }
    ]
    assert open_group["egress"][0]["protocol"] == "all"
    assert open_group["egress"][0]["from_port"] is None and open_group["egress"][0]["cidr"] == "0.0.0.0/0"
    closed = groups["sg-closed"].properties["ingress"]
    assert closed[0]["source_group"] == "sg-open" and closed[0]["cidr"] is None
    assert closed[1]["action"] == "deny" and closed[1]["from_port"] == 3389


def test_disk_encryption_and_customer_key_are_reported(alibaba_ctx):
    disks = harvest(alibaba_ctx, "alibaba.ecs.disk")

    assert disks["d-plain"].properties["encrypted"] is False
    assert disks["d-cmk"].properties["encrypted"] is True and disks["d-cmk"].properties["kms_key_id"] == "key-rotated"
    assert disks["d-loose"].properties["kms_key_id"] is None and disks["d-loose"].properties["attached_to"] == []
    assert disks["d-plain"].properties["attached_to"] == ["i-public"] and disks["d-plain"].properties["size_gb"] == 100


def test_snapshots_keep_their_source_disk_and_encryption(alibaba_ctx):
    snapshots = harvest(alibaba_ctx, "alibaba.ecs.snapshot")

    assert snapshots["s-plain"].properties["encrypted"] is False
    assert snapshots["s-enc"].properties["encrypted"] is True
    assert snapshots["s-enc"].properties["volume_id"] == "d-cmk"


def test_vpc_and_vswitch_flow_logs(alibaba_ctx):
    vpcs = harvest(alibaba_ctx, "alibaba.vpc.vpc")
    vswitches = harvest(alibaba_ctx, "alibaba.vpc.vswitch")

    assert vpcs["vpc-open"].properties["flow_logs_enabled"] is True
    assert vpcs["vpc-default"].properties == {
        **vpcs["vpc-default"].properties,
        "is_default": True,
        "flow_logs_enabled": False,
    }
    assert vswitches["vsw-a"].properties["network_id"] == "vpc-open"
    assert vswitches["vsw-a"].properties["flow_logs_enabled"] is True  # through its VPC


def test_public_buckets_are_flagged_with_their_reasons(alibaba_ctx):
    buckets = harvest(alibaba_ctx, "alibaba.oss.bucket")

    public_acl = buckets["public-assets"].properties
    assert public_acl["public"] and public_acl["acl"] == "public-read"
    assert public_acl["public_reasons"] == ["ACL public-read lets anyone read objects"]
    assert not public_acl["encrypted"] and not public_acl["logging_enabled"]
    open_policy = buckets["open-policy"].properties
    assert open_policy["public"] and "bucket policy allows anyone oss:GetObject" in open_policy["public_reasons"]
    assert open_policy["encrypted"] and open_policy["kms_key_id"] is None
    assert open_policy["policy"]["Statement"][0]["Principal"] == ["*"]
    private = buckets["private-logs"].properties
    assert not private["public"] and private["public_reasons"] == []
    assert private["encrypted"] and private["kms_key_id"] == "key-rotated"
    assert private["logging_enabled"] and private["versioning_enabled"]
    assert private["location"] == "oss-cn-shanghai"


def test_bucket_refusing_plain_http_is_https_only(alibaba_ctx, alibaba_fake):
    alibaba_fake.state["buckets"][2]["Policy"] = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": ["*"],
                "Action": ["oss:*"],
                "Resource": ["*"],
                "Condition": {"Bool": {"acs:SecureTransport": ["false"]}},
            }
        ],
    }

    buckets = harvest(alibaba_ctx, "alibaba.oss.bucket")

    assert buckets["private-logs"].properties["https_only"] is True
    assert buckets["private-logs"].properties["public"] is False
    assert buckets["public-assets"].properties["https_only"] is False


def test_ram_users_console_mfa_and_access_key_use(alibaba_ctx):
    users = harvest(alibaba_ctx, "alibaba.ram.user")

    alice = users["alice"].properties
    assert alice["console_access"] and not alice["mfa_enabled"]
    assert alice["attached_policies"] == ["AdministratorAccess"] and alice["groups"] == ["admins"]
    assert alice["access_keys"] == [
        {
            "id": "LTAIalice1",
            "active": True,
            "created_at": "2026-01-01T00:00:00Z",
            "last_used_at": "2026-03-02T00:00:00Z",
        }
    ]
    assert alice["password_last_used_at"] == "2026-03-01T00:00:00Z"
    assert users["bob"].properties["mfa_enabled"] and users["bob"].properties["console_access"]
    bot = users["ci-bot"].properties
    assert not bot["console_access"] and bot["password_last_used_at"] is None
    assert [(k["active"], k["last_used_at"]) for k in bot["access_keys"]] == [
        (True, None),
        (False, "2025-07-01T00:00:00Z"),
    ]


def test_admin_like_custom_policies_are_flagged(alibaba_ctx):
    policies = harvest(alibaba_ctx, "alibaba.ram.policy")

    assert policies["everything"].properties["admin_like"] is True
    assert policies["everything"].properties["attached_count"] == 1
    assert policies["read-buckets"].properties["admin_like"] is False
    assert policies["read-buckets"].properties["document"]["Statement"][0]["Action"] == ["oss:Get*", "oss:List*"]


def test_account_password_policy_is_normalized(alibaba_ctx):
    (account,) = harvest(alibaba_ctx, "alibaba.ram.account").values()

    policy = account.properties["password_policy"]
    assert account.native_id == alibaba_ctx.account_id
    assert policy["min_length"] == 8 and policy["require_symbols"] is False and policy["require_numbers"] is True
    assert policy["max_age_days"] is None and policy["reuse_prevention"] == 0


def test_rds_public_endpoint_world_whitelist_tde_and_ssl(alibaba_ctx):
    databases = harvest(alibaba_ctx, "alibaba.rds.instance")

    exposed = databases["rm-public"].properties
    assert exposed["public"] and exposed["open_to_world"]
    assert exposed["authorized_networks"] == ["0.0.0.0/0", "10.0.0.0/8"]
    assert not exposed["encrypted"] and not exposed["ssl_required"] and exposed["multi_az"] is False
    assert exposed["engine"] == "mysql" and exposed["backup_retention_days"] == 7
    private = databases["rm-private"].properties
    assert not private["public"] and not private["open_to_world"]
    assert private["encrypted"] and private["ssl_required"] and private["multi_az"]


def test_kms_rotation_and_ownership(alibaba_ctx):
    keys = {r.raw["KeyId"]: r.properties for r in harvest(alibaba_ctx, "alibaba.kms.key").values()}

    assert keys["key-rotated"]["rotation_enabled"] and keys["key-rotated"]["rotation_period_days"] == 365
    assert not keys["key-static"]["rotation_enabled"] and keys["key-static"]["rotation_period_days"] is None
    assert keys["key-static"]["customer_managed"] is True
    assert keys["key-doomed"]["state"] == "pending_deletion" and keys["key-doomed"]["customer_managed"] is False


def test_trails_cover_all_regions_and_log(alibaba_ctx):
    trails = {r.name: r.properties for r in harvest(alibaba_ctx, "alibaba.actiontrail.trail").values()}

    assert trails["all-regions"]["multi_region"] and trails["all-regions"]["logging"]
    assert not trails["one-region-off"]["multi_region"] and not trails["one-region-off"]["logging"]


def test_load_balancer_listeners_and_https(alibaba_ctx):
    balancers = harvest(alibaba_ctx, "alibaba.slb.load_balancer")

    mixed = balancers["lb-http"].properties
    assert mixed["scheme"] == "internet-facing" and mixed["https_only"] is False
    assert mixed["listeners"][1] == {
        "protocol": "https",
        "port": 443,
        "tls_policy": "tls_cipher_policy_1_0",
        "certificate": "cert-1",
    }
    strict = balancers["lb-https"].properties
    assert (
        strict["scheme"] == "internal"
        and strict["https_only"]
        and strict["tls_policy"] == "tls_cipher_policy_1_2_strict"
    )


@pytest.mark.parametrize(
    ("native_type", "action", "paging_key"),
    [
        ("alibaba.ecs.instance", "DescribeInstances", "PageNumber"),
        ("alibaba.ecs.disk", "DescribeDisks", "NextToken"),
        ("alibaba.ram.user", "ListUsers", "Marker"),
        ("alibaba.kms.key", "ListKeys", "PageNumber"),
        ("alibaba.oss.bucket", "ListBuckets", "marker"),
    ],
)
def test_paged_listings_return_every_item(alibaba_ctx, alibaba_fake, native_type, action, paging_key):
    everything = harvest(alibaba_ctx, native_type)
    alibaba_fake.calls.clear()
    alibaba_fake.max_page_size = 1

    paged = harvest(alibaba_ctx, native_type)

    assert paged.keys() == everything.keys()
    pages = [params for _, name, params in alibaba_fake.calls if name == action]
    assert len(pages) >= len(everything)
    assert all(params.get(paging_key) for params in pages[1:])


def test_a_failing_detail_call_fails_the_whole_listing(alibaba_ctx, alibaba_fake):
    from harvesters.base import TransientError

    alibaba_fake.fail("GetBucketAcl", status=503, times=100)

    with pytest.raises(TransientError):
        harvest(alibaba_ctx, "alibaba.oss.bucket")


def test_a_missing_permission_is_reported_as_permission_denied(alibaba_ctx, alibaba_fake):
    from harvesters.base import PermissionDenied

    alibaba_fake.fail("GetUserMFAInfo", status=403, times=100, code="NoPermission")

    with pytest.raises(PermissionDenied, match="NoPermission"):
        harvest(alibaba_ctx, "alibaba.ram.user")

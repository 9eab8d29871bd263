"""Every GCP type harvested from the fake into its normalized properties (real googleapiclient code)."""

from __future__ import annotations

import json

import pytest

from harvesters.base import GLOBAL, resource_types_for
from harvesters.gcp import compute, container, iam, kms, resourcemanager, sql, storage
from harvesters.gcp.cloudlogging import collect_metrics, collect_sinks
from harvesters.normalized import missing_properties

REGIONS = ("us-central1", "europe-west1", "asia-east1")

EXPECTED_TYPES = {
    "gcp.resourcemanager.project": "cloud_account",
    "gcp.compute.instance": "instance",
    "gcp.compute.firewall": "security_group",
    "gcp.compute.network": "network",
    "gcp.compute.subnetwork": "subnet",
    "gcp.compute.disk": "volume",
    "gcp.compute.snapshot": "snapshot",
    "gcp.compute.image": "machine_image",
    "gcp.storage.bucket": "storage_container",
    "gcp.iam.service_account": "service_role",
    "gcp.sql.instance": "database_instance",
    "gcp.kms.crypto_key": "encryption_key",
    "gcp.container.cluster": "container_cluster",
    "gcp.logging.sink": "api_accounting_config",
    "gcp.logging.metric": "log_group",
}


def harvest(ctx, collect, regions=REGIONS):
    """name -> record over the given regions (GLOBAL for global types)."""
    records = {}
    for region in regions:
        for record in collect(ctx, region):
            assert record.region == region
            records[record.name] = record
    return records


def test_every_listed_type_is_registered_with_its_normalized_type():
    registered = {spec.native_type: spec.resource_type for spec in resource_types_for("gcp")}
    assert registered == EXPECTED_TYPES


def test_every_type_fills_every_common_key_and_stays_json_safe(gcp_ctx):
    for spec in resource_types_for("gcp"):
        regions = [GLOBAL] if spec.scope == "global" else list(REGIONS)
        records = harvest(gcp_ctx, spec.collect, regions)
        assert records, f"{spec.native_type} harvested nothing from the fake"
        for record in records.values():
            assert record.native_type == spec.native_type
            assert missing_properties(spec.resource_type, record.properties) == [], spec.native_type
            json.dumps([record.properties, record.raw, record.tags])


def test_project_lists_bindings_public_members_and_audit_config(gcp_ctx):
    (project,) = harvest(gcp_ctx, resourcemanager.collect_project, [GLOBAL]).values()
    props = project.properties
    assert project.native_id == "projects/acme-prod"
    assert {"role": "roles/owner", "members": ["user:alice@acme.example"]} in props["iam_bindings"]
    assert props["public_members"] == [{"role": "roles/viewer", "member": "allAuthenticatedUsers"}]
    assert {b["role"] for b in props["primitive_role_bindings"]} == {"roles/owner", "roles/editor", "roles/viewer"}
    assert props["service_accounts_with_primitive_roles"] == [
        "111111111111-compute@developer.gserviceaccount.com",
        "ci-deployer@acme-prod.iam.gserviceaccount.com",
    ]
    (all_services,) = props["audit_configs"]
    assert all_services["log_types"] == ["ADMIN_READ", "DATA_READ", "DATA_WRITE"]
    # bob is exempted from DATA_READ: not every access is logged
    assert props["data_access_logging_all_services"] is False
    assert props["os_login_enabled"] is True
    assert props["project_number"] == "111111111111" and props["parent"] == "folders/200"


def test_instance_with_external_ip_default_account_and_serial_port_is_exposed(gcp_ctx):
    instances = harvest(gcp_ctx, compute.collect_instances)
    web = instances["web-1"].properties
    assert instances["web-1"].region == "us-central1"
    assert web["public_ips"] == ["34.1.2.3"] and web["has_public_ip"] is True
    assert web["default_service_account"] is True and web["full_api_access"] is True
    assert web["serial_port_enabled"] is True
    assert web["os_login_enabled"] is False  # the instance overrides the project's TRUE
    assert web["shielded_vm"] == {"secure_boot": False, "vtpm": True, "integrity_monitoring": False}
    assert web["ip_forwarding"] is True
    assert web["state"] == "running" and web["instance_type"] == "e2-medium"
    assert web["network_id"] == "projects/acme-prod/global/networks/default"
    assert web["security_groups"] == ["http-server", "ssh"]
    assert web["launched_at"] == "2024-02-01T18:00:00+00:00"
    assert instances["web-1"].tags == {"env": "prod", "team": "web"}


def test_hardened_instance_inherits_os_login_and_has_no_public_ip(gcp_ctx):
    app = harvest(gcp_ctx, compute.collect_instances)["app-1"]
    assert app.region == "europe-west1"
    props = app.properties
    assert props["public_ips"] == [] and props["has_public_ip"] is False
    assert props["identity"] == "app-sa@acme-prod.iam.gserviceaccount.com"
    assert props["default_service_account"] is False and props["full_api_access"] is False
    assert props["os_login_enabled"] is True and props["serial_port_enabled"] is False
    assert props["block_project_ssh_keys"] is True
    assert all(props["shielded_vm"].values()) and props["confidential_computing"] is True


def test_terminated_instance_is_stopped(gcp_ctx):
    assert harvest(gcp_ctx, compute.collect_instances)["batch-1"].properties["state"] == "stopped"


def test_instances_are_split_by_region(gcp_ctx):
    assert set(harvest(gcp_ctx, compute.collect_instances, ["us-central1"])) == {"web-1", "batch-1"}
    assert set(harvest(gcp_ctx, compute.collect_instances, ["asia-east1"])) == set()


def test_firewall_open_to_the_world_is_normalized_like_a_security_group(gcp_ctx):
    firewalls = harvest(gcp_ctx, compute.collect_firewalls, [GLOBAL])
    ssh = firewalls["default-allow-ssh"].properties
    assert ssh["is_default"] is True and ssh["egress"] == []
    assert ssh["ingress"] == [
        {
            "protocol": "tcp",
            "from_port": 22,
            "to_port": 22,
            "cidr": "0.0.0.0/0",
            "source_group": None,
            "action": "allow",
            "description": "Allow SSH from anywhere",
        }
    ]
    rdp = firewalls["allow-rdp-world"].properties
    assert {r["cidr"] for r in rdp["ingress"]} == {"0.0.0.0/0", "::/0"}
    assert rdp["target_tags"] == ["windows"] and rdp["applies_to_all_instances"] is False


def test_firewall_rules_expand_protocols_port_ranges_and_source_tags(gcp_ctx):
    firewalls = harvest(gcp_ctx, compute.collect_firewalls, [GLOBAL])
    internal = firewalls["allow-internal"].properties["ingress"]
    assert [(r["protocol"], r["from_port"], r["to_port"]) for r in internal] == [
        ("tcp", 0, 65535),
        ("udp", None, None),
        ("icmp", None, None),
    ]
    bastion = firewalls["allow-ssh-from-bastion"].properties["ingress"]
    assert [(r["from_port"], r["to_port"], r["source_group"], r["cidr"]) for r in bastion] == [
        (22, 22, "tag:bastion", None),
        (8000, 8080, "tag:bastion", None),
    ]
    egress = firewalls["deny-all-egress"].properties
    assert egress["ingress"] == [] and egress["egress"][0]["action"] == "deny"
    assert egress["egress"][0]["protocol"] == "all"


def test_disabled_firewall_has_no_effective_rules(gcp_ctx):
    disabled = harvest(gcp_ctx, compute.collect_firewalls, [GLOBAL])["disabled-open-all"]
    assert disabled.properties["disabled"] is True
    assert disabled.properties["ingress"] == [] and disabled.properties["egress"] == []
    assert disabled.raw["allowed"] == [{"IPProtocol": "all"}]


def test_networks_report_legacy_default_and_flow_logs(gcp_ctx):
    networks = harvest(gcp_ctx, compute.collect_networks, [GLOBAL])
    assert networks["default"].properties["is_default"] is True
    assert networks["default"].properties["flow_logs_enabled"] is False
    assert networks["prod-vpc"].properties["flow_logs_enabled"] is True
    assert networks["prod-vpc"].properties["cidr_blocks"] == ["10.10.0.0/24", "10.20.0.0/24"]
    legacy = networks["legacy-net"].properties
    assert legacy["legacy"] is True and legacy["cidr_blocks"] == ["10.240.0.0/16"]


def test_subnets_report_flow_logs_and_private_google_access(gcp_ctx):
    subnets = harvest(gcp_ctx, compute.collect_subnetworks)
    assert subnets["default"].properties["flow_logs_enabled"] is False
    assert subnets["default"].properties["private_access_enabled"] is False
    eu = subnets["prod-eu"]
    assert eu.region == "europe-west1"
    assert eu.properties["flow_logs_enabled"] is True and eu.properties["private_access_enabled"] is True
    assert eu.properties["network_id"] == "projects/acme-prod/global/networks/prod-vpc"
    assert subnets["prod-us"].properties["flow_logs_enabled"] is True  # the older enableFlowLogs field


def test_disks_report_cmek_and_attachment(gcp_ctx):
    disks = harvest(gcp_ctx, compute.collect_disks)
    assert disks["app-1"].properties["kms_key_id"] == (
        "projects/acme-prod/locations/europe-west1/keyRings/ring/cryptoKeys/disk-key"
    )
    assert disks["web-1"].properties["kms_key_id"] is None and disks["web-1"].properties["encrypted"] is True
    assert disks["web-1"].properties["attached_to"] == ["projects/acme-prod/zones/us-central1-a/instances/web-1"]
    assert disks["web-1"].properties["state"] == "in-use" and disks["orphan"].properties["state"] == "available"
    assert disks["app-1"].properties["size_gb"] == 100


def test_snapshots_and_images_report_sharing(gcp_ctx):
    snapshots = harvest(gcp_ctx, compute.collect_snapshots, [GLOBAL])
    assert snapshots["web-1-daily"].properties["shared_with"] == ["user:contractor@other.example"]
    assert snapshots["web-1-daily"].properties["volume_id"] == "projects/acme-prod/zones/us-central1-a/disks/web-1"
    assert snapshots["app-1-daily"].properties["kms_key_id"].endswith("/cryptoKeys/disk-key")
    images = harvest(gcp_ctx, compute.collect_images, [GLOBAL])
    assert images["golden-image"].properties["public"] is True
    assert images["private-image"].properties["public"] is False
    assert images["private-image"].properties["shared_with"] == ["user:partner@partner.example"]


def test_public_bucket_is_flagged_through_iam_and_acl(gcp_ctx):
    buckets = harvest(gcp_ctx, storage.collect_buckets, [GLOBAL])
    public = buckets["acme-public-assets"].properties
    assert public["public"] is True
    assert public["public_reasons"] == [
        "IAM grants allUsers roles/storage.objectViewer",
        "ACL grants allAuthenticatedUsers READER",
    ]
    assert public["uniform_bucket_level_access"] is False and public["logging_enabled"] is False


def test_locked_down_bucket_reports_uniform_access_retention_logging_and_cmek(gcp_ctx):
    audit = harvest(gcp_ctx, storage.collect_buckets, [GLOBAL])["acme-audit-logs"].properties
    assert audit["public"] is False and audit["public_access_block"] is True
    assert audit["uniform_bucket_level_access"] is True
    assert audit["retention_policy"] == {"retention_days": 90, "locked": True}
    assert audit["logging_enabled"] is True and audit["versioning_enabled"] is True
    assert audit["kms_key_id"].endswith("/cryptoKeys/bucket-key")


def test_public_access_prevention_overrides_an_allusers_grant(gcp_ctx, gcp_fake):
    gcp_fake.state["iam_policies"]["b/acme-audit-logs"]["bindings"].append(
        {"role": "roles/storage.objectViewer", "members": ["allUsers"]}
    )
    audit = harvest(gcp_ctx, storage.collect_buckets, [GLOBAL])["acme-audit-logs"].properties
    assert audit["public"] is False


def test_service_accounts_report_user_managed_key_age_and_roles(gcp_ctx):
    accounts = harvest(gcp_ctx, iam.collect_service_accounts, [GLOBAL])
    app = accounts["app-sa@acme-prod.iam.gserviceaccount.com"].properties
    assert [k["id"] for k in app["keys"]] == ["aaa111"]  # the system-managed key is not listed
    assert app["oldest_key_age_days"] == 400
    ci = accounts["ci-deployer@acme-prod.iam.gserviceaccount.com"].properties
    assert ci["attached_policies"] == ["roles/editor"] and ci["keys"][0]["age_days"] == 10
    default = accounts["111111111111-compute@developer.gserviceaccount.com"].properties
    assert default["is_default"] is True and default["keys"] == []


def test_public_database_with_open_authorized_network_and_no_ssl_is_exposed(gcp_ctx):
    instances = harvest(gcp_ctx, sql.collect_sql_instances)
    pg = instances["prod-pg"]
    assert pg.region == "us-central1"
    assert pg.properties["public"] is True and pg.properties["authorized_networks"] == ["0.0.0.0/0"]
    assert pg.properties["ssl_required"] is False and pg.properties["backups_enabled"] is False
    assert pg.properties["backup_retention_days"] == 0
    assert (pg.properties["engine"], pg.properties["engine_version"]) == ("postgres", "14")
    mysql = instances["secure-mysql"].properties
    assert mysql["public"] is False and mysql["ssl_required"] is True
    assert mysql["backup_retention_days"] == 14 and mysql["multi_az"] is True
    assert mysql["engine"] == "mysql" and mysql["kms_key_id"].endswith("/cryptoKeys/sql-key")


def test_kms_keys_report_rotation_state_and_public_policy(gcp_ctx):
    keys = harvest(gcp_ctx, kms.collect_crypto_keys, [GLOBAL])
    assert keys["disk-key"].properties["rotation_period_days"] == 90
    assert keys["disk-key"].properties["rotation_enabled"] is True
    assert keys["disk-key"].properties["location"] == "europe-west1"
    assert keys["disk-key"].properties["protection_level"] == "HSM"
    no_rotation = keys["no-rotation"].properties
    assert no_rotation["rotation_enabled"] is False and no_rotation["rotation_period_days"] is None
    assert no_rotation["public"] is True and no_rotation["location"] == "global"
    assert keys["retired"].properties["state"] == "disabled"
    assert keys["disk-key"].native_id == "projects/acme-prod/locations/europe-west1/keyRings/ring/cryptoKeys/disk-key"


def test_gke_clusters_report_abac_private_endpoint_network_policy_and_logging(gcp_ctx):
    clusters = harvest(gcp_ctx, container.collect_clusters)
    legacy = clusters["legacy-cluster"]
    assert legacy.region == "us-central1"  # a zonal cluster belongs to its zone's region
    assert legacy.properties["legacy_abac_enabled"] is True and legacy.properties["rbac_enabled"] is False
    assert legacy.properties["endpoint_public"] is True
    assert legacy.properties["network_policy_enabled"] is False and legacy.properties["logging_enabled"] is False
    assert legacy.properties["basic_auth_enabled"] is True
    hardened = clusters["hardened-cluster"].properties
    assert hardened["endpoint_public"] is False and hardened["private_nodes"] is True
    assert hardened["network_policy_enabled"] is True  # Dataplane V2
    assert hardened["logging_enabled"] is True and hardened["workload_identity"] is True


def test_sinks_are_accounting_configs_and_metrics_carry_their_filters(gcp_ctx):
    sinks = harvest(gcp_ctx, collect_sinks, [GLOBAL])
    everything = sinks["all-logs-to-bucket"].properties
    assert everything["exports_all_logs"] is True and everything["logging"] is True
    assert everything["destination_type"] == "storage"
    assert sinks["audit-to-bigquery"].properties["logging"] is False
    metrics = harvest(gcp_ctx, collect_metrics, [GLOBAL])
    assert "roles/owner" in metrics["owner-changes"].properties["filter"]
    assert metrics["audit-config-changes"].resource_type == "log_group"


@pytest.mark.parametrize("project", ["acme-dev"])
def test_a_quiet_project_harvests_empty_listings(gcp_fake, gcp_key, no_proxy_env, project):
    from harvesters.gcp import session

    ctx = session.connect(project, {"endpoint": gcp_fake.url}, {"service_account_key": gcp_key})
    assert list(compute.collect_instances(ctx, "us-central1")) == []
    assert list(storage.collect_buckets(ctx, GLOBAL)) == []
    assert list(container.collect_clusters(ctx, "us-central1")) == []
    (project_record,) = resourcemanager.collect_project(ctx, GLOBAL)
    assert project_record.properties["public_members"] == []


def _matches(value, declared: str) -> bool:
    """Does ``value`` fit a normalized property's declared type (``bool|None``, ``list[str]`` …)?"""
    kinds = {"str": str, "int": int, "bool": bool, "dict": dict, "None": type(None)}
    type_part = declared.split(":", 1)[0].strip()
    for option in type_part.split("|"):
        option = option.strip()
        if option.startswith("list"):
            if isinstance(value, list):
                return True
        elif option in kinds and isinstance(value, kinds[option]) and not (option == "int" and isinstance(value, bool)):
            return True
    return False


def test_common_keys_have_the_declared_types_for_the_cross_cloud_comparison(gcp_ctx):
    from harvesters.normalized import RULE_PROPERTIES, TYPES

    for spec in resource_types_for("gcp"):
        regions = [GLOBAL] if spec.scope == "global" else list(REGIONS)
        for record in harvest(gcp_ctx, spec.collect, regions).values():
            for key, declared in TYPES[spec.resource_type].properties.items():
                value = record.properties[key]
                assert _matches(value, declared), f"{spec.native_type} {record.name}: {key}={value!r} is not {declared}"
            for rule in record.properties.get("ingress", []) + record.properties.get("egress", []):
                assert set(rule) == set(RULE_PROPERTIES)
                for key, declared in RULE_PROPERTIES.items():
                    assert _matches(rule[key], declared), f"{record.name}: rule {key}={rule[key]!r}"

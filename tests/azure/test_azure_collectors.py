"""Every Azure type harvested by the real azure-mgmt clients from the fake, into normalized properties."""

from __future__ import annotations

import pytest

from harvesters.base import GLOBAL, resource_types_for
from harvesters.normalized import RULE_PROPERTIES, missing_properties
from tests.azure.conftest import collect
from tests.fakes.azure_fake import SUB_PROD

ALL_REGIONS = ("eastus", "westeurope")


def harvest_everything(ctx) -> list:
    records = []
    for spec in resource_types_for("azure"):
        for region in (GLOBAL,) if spec.scope == "global" else ALL_REGIONS:
            records.extend(spec.collect(ctx, region))
    return records


def test_every_listed_type_is_registered():
    native = {spec.native_type: spec.resource_type for spec in resource_types_for("azure")}
    assert native == {
        "azure.subscription.subscription": "cloud_account",
        "azure.resources.resource_group": "resource_group",
        "azure.compute.virtual_machine": "instance",
        "azure.compute.disk": "volume",
        "azure.compute.snapshot": "snapshot",
        "azure.network.security_group": "security_group",
        "azure.network.virtual_network": "network",
        "azure.network.subnet": "subnet",
        "azure.storage.account": "storage_container",
        "azure.keyvault.vault": "key_vault",
        "azure.keyvault.key": "encryption_key",
        "azure.keyvault.secret": "secret",
        "azure.sql.server": "database_instance",
        "azure.web.site": "web_app",
        "azure.containerservice.managed_cluster": "container_cluster",
        "azure.authorization.role_definition": "service_policy",
        "azure.authorization.role_assignment": "service_policy",
        "azure.monitor.activity_log": "api_accounting_config",
    }
    for spec in resource_types_for("azure"):
        assert spec.description and spec.permissions, spec.native_type


def test_every_record_fills_every_common_key_of_its_type(azure_ctx):
    records = harvest_everything(azure_ctx)
    assert len({r.native_type for r in records}) == 18
    for record in records:
        assert missing_properties(record.resource_type, record.properties) == [], record.native_type
        assert record.native_id == record.native_id.lower()
    rules = [rule for r in records if r.resource_type == "security_group" for rule in r.properties["ingress"]]
    assert rules and all(set(RULE_PROPERTIES) <= set(rule) for rule in rules)


def test_vm_with_public_ip_and_open_nsg_is_described(azure_ctx):
    vms = collect(azure_ctx, "azure.compute.virtual_machine", "eastus")
    web, worker = vms["vm-web"].properties, vms["vm-worker"].properties
    assert web["state"] == "running" and worker["state"] == "stopped"
    assert web["public_ips"] == ["20.1.2.3"] and web["has_public_ip"] is True
    assert worker["public_ips"] == [] and worker["has_public_ip"] is False
    assert web["private_ips"] == ["10.1.1.4"]
    assert web["security_groups"] == [
        f"/subscriptions/{SUB_PROD}/resourcegroups/rg-app/providers/microsoft.network/networksecuritygroups/nsg-open"
    ]
    assert web["subnet_id"].endswith("/virtualnetworks/vnet-app/subnets/web")
    assert web["network_id"].endswith("/virtualnetworks/vnet-app")
    assert web["identity"] is None and worker["identity"] == "SystemAssigned"
    assert web["encryption_at_host"] is False and worker["encryption_at_host"] is True
    assert web["os_disk_customer_managed_key"] is False and worker["os_disk_customer_managed_key"] is True
    assert web["password_authentication_enabled"] is True and worker["password_authentication_enabled"] is False
    assert web["instance_type"] == "Standard_B2s"
    assert web["image_id"] == "Canonical:ubuntu-24_04-lts:server:latest"
    assert vms["vm-web"].tags == {"role": "web"}
    assert collect(azure_ctx, "azure.compute.virtual_machine", "westeurope") == {}


def test_nsg_rules_are_normalized_like_aws_security_groups(azure_ctx):
    groups = collect(azure_ctx, "azure.network.security_group", "eastus")
    open_rules = {r["name"]: r for r in groups["nsg-open"].properties["ingress"]}
    assert open_rules["ssh-from-anywhere"] | {} == {
        "protocol": "tcp",
        "from_port": 22,
        "to_port": 22,
        "cidr": "0.0.0.0/0",
        "source_group": None,
        "action": "allow",
        "description": "temporary",
        "name": "ssh-from-anywhere",
        "priority": 100,
        "default_rule": False,
        "service_tag": None,
    }
    assert open_rules["rdp-from-internet"]["cidr"] == "0.0.0.0/0"  # the Internet tag is anywhere
    assert (open_rules["all-from-anywhere"]["protocol"], open_rules["all-from-anywhere"]["from_port"]) == ("all", None)
    assert open_rules["DenyAllInBound"]["action"] == "deny" and open_rules["DenyAllInBound"]["default_rule"]
    assert [r["name"] for r in groups["nsg-open"].properties["egress"]] == ["egress-all"]

    tight = groups["nsg-tight"].properties["ingress"]
    https = [(r["cidr"], r["from_port"], r["to_port"]) for r in tight if r["name"] == "https-from-office"]
    assert sorted(https) == [
        ("198.51.100.7/32", 443, 443),
        ("198.51.100.7/32", 8443, 8444),
        ("203.0.113.0/24", 443, 443),
        ("203.0.113.0/24", 8443, 8444),
    ]
    icmp = next(r for r in tight if r["name"] == "icmp-vnet")
    assert (icmp["protocol"], icmp["cidr"], icmp["service_tag"]) == ("icmp", None, "VirtualNetwork")
    assert not any(r["cidr"] == "0.0.0.0/0" for r in tight)
    assert groups["nsg-tight"].properties["flow_logs_enabled"] is True
    assert groups["nsg-open"].properties["flow_logs_enabled"] is False


def test_networks_and_subnets_report_flow_logs(azure_ctx):
    east = collect(azure_ctx, "azure.network.virtual_network", "eastus")
    west = collect(azure_ctx, "azure.network.virtual_network", "westeurope")
    assert east["vnet-app"].properties["flow_logs_enabled"] is True
    assert west["vnet-data"].properties["flow_logs_enabled"] is False
    assert west["vnet-data"].properties["cidr_blocks"] == ["10.2.0.0/16", "10.3.0.0/16"]
    subnets = collect(azure_ctx, "azure.network.subnet", "eastus")
    assert subnets["web"].properties["cidr_block"] == "10.1.1.0/24"
    assert subnets["web"].properties["flow_logs_enabled"] is True  # through its VNet's flow log
    assert subnets["private"].properties["private_access_enabled"] is True
    assert subnets["web"].properties["private_access_enabled"] is False
    db = collect(azure_ctx, "azure.network.subnet", "westeurope")["db"].properties
    assert (db["cidr_block"], db["flow_logs_enabled"]) == ("10.2.1.0/24", False)


def test_disks_and_snapshots_show_encryption_and_public_network_access(azure_ctx):
    disks = collect(azure_ctx, "azure.compute.disk", "eastus")
    web, worker = disks["vm-web_OsDisk"].properties, disks["vm-worker_OsDisk"].properties
    assert (web["size_gb"], web["encrypted"], web["kms_key_id"]) == (30, True, None)
    assert worker["kms_key_id"].endswith("/diskencryptionsets/des-cmk")
    assert web["public_network_access"] is True and worker["public_network_access"] is False
    assert web["ade_enabled"] is False and worker["ade_enabled"] is True
    assert web["attached_to"][0].endswith("/virtualmachines/vm-web")
    snaps = collect(azure_ctx, "azure.compute.snapshot", "eastus")
    assert snaps["snap-web"].properties["public"] is True and snaps["snap-worker"].properties["public"] is False
    assert snaps["snap-web"].properties["volume_id"].endswith("/disks/vm-web_osdisk")
    assert snaps["snap-worker"].properties["kms_key_id"].endswith("/des-cmk")


def test_public_blob_containers_make_the_storage_account_public(azure_ctx):
    accounts = collect(azure_ctx, "azure.storage.account", "westeurope")
    public, private = accounts["stpublicdata"].properties, accounts["stprivatelogs"].properties
    assert public["public"] is True and public["public_containers"] == ["images", "thumbs"]
    assert "container images allows anonymous Container access" in public["public_reasons"]
    assert (public["https_only"], public["minimum_tls_version"], public["network_default_action"]) == (
        False,
        "TLS1_0",
        "allow",
    )
    assert (public["versioning_enabled"], public["logging_enabled"], public["kms_key_id"]) == (False, False, None)
    assert private["public"] is False and private["public_access_block"] is True
    assert (private["https_only"], private["minimum_tls_version"], private["network_default_action"]) == (
        True,
        "TLS1_2",
        "deny",
    )
    assert private["kms_key_id"] == "https://kv-strict.vault.azure.net/keys/storage-cmk"
    assert private["versioning_enabled"] is True and private["logging_enabled"] is True
    assert private["infrastructure_encryption"] is True


def test_storage_account_with_public_switch_off_is_not_public_whatever_its_containers(azure_fake, azure_ctx):
    account = next(k for k in azure_fake.state["resources"] if k.endswith("stpublicdata"))
    azure_fake.resource(account)["properties"]["allowBlobPublicAccess"] = False
    props = collect(azure_ctx, "azure.storage.account", "westeurope")["stpublicdata"].properties
    assert props["public"] is False and props["public_reasons"] == []
    assert props["public_containers"] == ["images", "thumbs"]  # still recorded: flipping the switch exposes them


def test_key_vaults_and_keys(azure_ctx):
    vaults = collect(azure_ctx, "azure.keyvault.vault", "westeurope")
    lax, strict = vaults["kv-lax"].properties, vaults["kv-strict"].properties
    assert (lax["soft_delete_enabled"], lax["purge_protection_enabled"], lax["rbac_enabled"]) == (False, False, False)
    assert (strict["soft_delete_enabled"], strict["purge_protection_enabled"], strict["rbac_enabled"]) == (
        True,
        True,
        True,
    )
    assert lax["public_network_access"] is True and strict["public_network_access"] is False
    assert strict["network_default_action"] == "deny" and strict["allowed_ip_ranges"] == ["203.0.113.0/24"]
    keys = collect(azure_ctx, "azure.keyvault.key", "westeurope")
    legacy, cmk = keys["legacy-key"].properties, keys["storage-cmk"].properties
    assert (legacy["expires_at"], legacy["rotation_enabled"], legacy["state"]) == (None, False, "enabled")
    assert (cmk["expires_at"], cmk["rotation_enabled"], cmk["rotation_period_days"]) == (
        "2028-01-01T00:00:00Z",
        True,
        90,
    )
    assert cmk["customer_managed"] is True and cmk["vault_id"].endswith("/vaults/kv-strict")


def test_key_vault_secrets_report_expiry_without_values(azure_ctx):
    secrets = collect(azure_ctx, "azure.keyvault.secret", "westeurope")
    legacy, token = secrets["db-password"].properties, secrets["api-token"].properties
    assert (legacy["expires_at"], legacy["expiry_set"], legacy["last_rotated_at"]) == (
        None,
        False,
        "2024-01-01T00:00:00Z",
    )
    assert (token["expires_at"], token["expiry_set"], token["state"]) == ("2026-12-01T00:00:00Z", True, "enabled")
    assert "value" not in secrets["api-token"].raw["properties"]


def test_sql_server_open_to_the_internet_without_auditing_or_tde(azure_ctx):
    servers = collect(azure_ctx, "azure.sql.server", "westeurope")
    bad, good = servers["sql-open"].properties, servers["sql-closed"].properties
    assert bad["public"] is True and bad["allows_all_ips"] is True
    assert bad["authorized_networks"] == ["0.0.0.0/0"] and bad["allow_azure_services"] is True
    assert (bad["auditing_enabled"], bad["encrypted"], bad["ad_admin_configured"]) == (False, False, False)
    assert bad["databases"] == [
        {"name": "appdb", "tde_enabled": False, "backup_retention_days": 7, "zone_redundant": False, "sku": "S0"}
    ]
    assert good["public"] is False and good["authorized_networks"] == ["203.0.113.0/24"]
    assert (good["auditing_enabled"], good["encrypted"], good["ad_admins"]) == (True, True, ["dba-group"])
    assert (good["backup_retention_days"], good["engine"], good["ssl_required"]) == (35, "sqlserver", True)


def test_web_apps_https_tls_and_ftp(azure_ctx):
    apps = collect(azure_ctx, "azure.web.site", "eastus")
    legacy, modern = apps["app-legacy"].properties, apps["app-modern"].properties
    assert (legacy["https_only"], legacy["min_tls_version"], legacy["ftp_enabled"]) == (False, "1.0", True)
    assert (modern["https_only"], modern["min_tls_version"], modern["ftp_enabled"]) == (True, "1.2", False)


def test_aks_clusters_rbac_private_api_and_network_policy(azure_ctx):
    clusters = collect(azure_ctx, "azure.containerservice.managed_cluster", "eastus")
    lax, tight = clusters["aks-open"].properties, clusters["aks-private"].properties
    assert (lax["rbac_enabled"], lax["endpoint_public"], lax["network_policy_enabled"]) == (False, True, False)
    assert (tight["rbac_enabled"], tight["endpoint_public"], tight["network_policy_enabled"]) == (True, False, True)
    assert (lax["logging_enabled"], tight["logging_enabled"], tight["version"]) == (False, True, "1.31.1")


def test_owner_like_custom_role_is_flagged(azure_ctx):
    roles = collect(azure_ctx, "azure.authorization.role_definition", GLOBAL)
    assert set(roles) == {"c0ffee00-0000-4000-8000-000000000001", "c0ffee00-0000-4000-8000-000000000002"}
    everything = roles["c0ffee00-0000-4000-8000-000000000001"].properties
    narrow = roles["c0ffee00-0000-4000-8000-000000000002"].properties
    assert (everything["role_name"], everything["owner_like"], everything["attached_count"]) == (
        "Everything Operator",
        True,
        1,
    )
    assert (narrow["owner_like"], narrow["attached_count"]) == (False, 0)
    assert everything["document"]["permissions"][0]["actions"] == ["*"]


def test_role_assignments_name_their_role_and_flag_owner_like_grants(azure_fake, azure_ctx):
    assignments = collect(azure_ctx, "azure.authorization.role_assignment", GLOBAL)
    owner, custom = assignments["ra-owner-user"].properties, assignments["ra-custom-sp"].properties
    assert (owner["role_name"], owner["owner_like"], owner["customer_managed"]) == ("Owner", True, False)
    assert (owner["principal_type"], owner["principal_id"], owner["subscription_wide"]) == ("User", "u-1", True)
    assert (custom["role_name"], custom["owner_like"], custom["customer_managed"]) == (
        "Everything Operator",
        True,
        True,
    )
    contributor = "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
    azure_fake.state["resources"][
        f"/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleDefinitions/"
        "b24988ac-6180-42a0-ab88-20f7382dd24c"
    ] = {
        "id": f"/subscriptions/{SUB_PROD}{contributor}",
        "name": "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "properties": {
            "roleName": "Contributor",
            "type": "BuiltInRole",
            "assignableScopes": ["/"],
            "permissions": [{"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Write"]}],
        },
    }
    azure_fake.state["resources"][
        f"/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleAssignments/ra-c"
    ] = {
        "id": f"/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleAssignments/ra-c",
        "name": "ra-c",
        "properties": {
            "roleDefinitionId": f"/subscriptions/{SUB_PROD}{contributor}",
            "principalId": "g-1",
            "principalType": "Group",
            "scope": f"/subscriptions/{SUB_PROD}/resourceGroups/rg-app",
        },
    }
    contributor_grant = collect(azure_ctx, "azure.authorization.role_assignment", GLOBAL)["ra-c"].properties
    assert (contributor_grant["role_name"], contributor_grant["owner_like"]) == ("Contributor", False)
    assert contributor_grant["subscription_wide"] is False


def test_subscription_reports_defender_plans_contacts_and_role_assignments(azure_ctx):
    sub = collect(azure_ctx, "azure.subscription.subscription", GLOBAL)["Production"]
    assert sub.native_id == f"/subscriptions/{SUB_PROD}"
    center = sub.properties["security_center"]
    assert center["plans"] == {
        "VirtualMachines": "Standard",
        "SqlServers": "Free",
        "StorageAccounts": "Standard",
        "KeyVaults": "Free",
    }
    assert center["free_plans"] == ["KeyVaults", "SqlServers"]
    assert center["contact_emails"] == ["secops@example.com"] and center["alert_notifications"] is True
    assert center["auto_provisioning_enabled"] is False
    bindings = {b["role"]: b for b in sub.properties["iam_bindings"]}
    assert bindings["Owner"]["members"] == ["User:u-1"] and bindings["Owner"]["owner_like"] is True
    assert bindings["Everything Operator"]["owner_like"] is True


def test_activity_log_export_lists_missing_categories(azure_fake, azure_ctx):
    trail = collect(azure_ctx, "azure.monitor.activity_log", GLOBAL)["activity-log"].properties
    assert trail["logging"] is True and trail["categories_missing"] == ["Policy"]
    for key in [k for k in azure_fake.state["resources"] if "diagnosticsettings/activity" in k.lower()]:
        azure_fake.delete(key)
    trail = collect(azure_ctx, "azure.monitor.activity_log", GLOBAL)["activity-log"].properties
    assert trail["logging"] is False and trail["setting_count"] == 0
    assert trail["categories_missing"] == ["Administrative", "Security", "Policy", "Alert"]


def test_resource_groups_with_location(azure_ctx):
    groups = collect(azure_ctx, "azure.resources.resource_group", GLOBAL)
    assert {n: g.properties["location"] for n, g in groups.items()} == {"rg-app": "eastus", "rg-data": "westeurope"}
    assert groups["rg-app"].tags == {"env": "prod"}


@pytest.mark.parametrize("region", ["East US", "eastus"])
def test_locations_are_compared_folded(azure_ctx, region):
    assert set(collect(azure_ctx, "azure.compute.virtual_machine", region)) == {"vm-web", "vm-worker"}

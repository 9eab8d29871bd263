"""The normalized resource types and their properties: the one place that defines them.

Every harvester, whatever the cloud, fills ``Resource.properties`` with these keys for the
normalized type it produces (``None`` where a cloud has no such notion), so that one insight
written on normalized properties applies to every cloud. A harvester may add cloud-specific
keys beside them; it must not rename or omit the common ones (a test checks every cloud).

Conventions: booleans say what is true (``encrypted``, ``public``); lists are lists even when
empty; times are ISO-8601 strings in UTC; sizes in GiB; ``public_reasons`` explains a
``public`` flag in words a security engineer would use ("ACL grants AllUsers READ").
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NormalizedType:
    name: str
    description: str
    #: property name -> "type: meaning"; every harvester of this type fills each of them
    properties: dict[str, str] = field(default_factory=dict)
    #: keys some insights read, filled where a cloud has the notion; absent reads as unknown (None)
    optional: dict[str, str] = field(default_factory=dict)


# A normalized firewall rule, used by security_group.ingress / egress on every cloud.
RULE_PROPERTIES = {
    "protocol": "str: tcp, udp, icmp, icmpv6 or all",
    "from_port": "int|None: first port of the range, None for all ports",
    "to_port": "int|None: last port of the range, None for all ports",
    "cidr": "str|None: IPv4 or IPv6 source/destination range",
    "source_group": "str|None: security group id allowed as source",
    "action": "str: allow or deny",
    "description": "str|None",
}

TYPES: dict[str, NormalizedType] = {}


def _define(name: str, description: str, /, **properties: str) -> None:
    TYPES[name] = NormalizedType(name, description, properties)


_define(
    "instance",
    "A virtual machine.",
    state="str: running, stopped, pending, stopping, terminated or unknown",
    instance_type="str: size / machine type",
    image_id="str|None",
    public_ips="list[str]",
    private_ips="list[str]",
    has_public_ip="bool",
    security_groups="list[str]: ids of the attached security groups / NSGs / firewall tags",
    network_id="str|None",
    subnet_id="str|None",
    identity="str|None: attached IAM profile, managed identity or service account",
    metadata_v2_required="bool|None: AWS IMDSv2 enforced (None on other clouds)",
    launched_at="str|None",
)
_define(
    "security_group",
    "A set of firewall rules attached to instances (security group, NSG, firewall rule, ECS group).",
    description="str|None",
    network_id="str|None",
    ingress="list[rule]: see RULE_PROPERTIES",
    egress="list[rule]: see RULE_PROPERTIES",
    is_default="bool",
)
_define(
    "network",
    "A virtual network (VPC, VNet, VPC network).",
    cidr_blocks="list[str]",
    is_default="bool",
    flow_logs_enabled="bool",
)
_define(
    "subnet",
    "A subnet of a network.",
    network_id="str|None",
    cidr_block="str|None",
    maps_public_ip_on_launch="bool",
    flow_logs_enabled="bool|None",
    private_access_enabled="bool|None: private Google access and the like",
)
_define(
    "volume",
    "A block storage disk.",
    size_gb="int|None",
    encrypted="bool",
    kms_key_id="str|None: customer-managed key, None for provider-managed",
    state="str",
    attached_to="list[str]: instance ids",
    public_network_access="bool|None",
)
_define(
    "snapshot",
    "A point-in-time copy of a volume.",
    volume_id="str|None",
    encrypted="bool",
    public="bool",
    shared_with="list[str]: account ids it is shared with",
    created_at="str|None",
)
_define(
    "machine_image",
    "An image instances boot from (AMI, custom image).",
    public="bool",
    shared_with="list[str]",
    created_at="str|None",
)
_define(
    "storage_container",
    "An object storage bucket / container / storage account.",
    public="bool",
    public_reasons="list[str]",
    encrypted="bool",
    kms_key_id="str|None",
    versioning_enabled="bool",
    logging_enabled="bool",
    https_only="bool|None",
    public_access_block="bool|None: all public access blocked at this level",
    policy="dict|None: resource policy document",
)
_define(
    "database_instance",
    "A managed relational database instance or server.",
    engine="str",
    engine_version="str|None",
    public="bool",
    encrypted="bool",
    backup_retention_days="int|None",
    multi_az="bool|None",
    ssl_required="bool|None",
    authorized_networks="list[str]|None: CIDRs allowed to connect (firewall, whitelist, security groups); "
    "None when they could not be read",
)
_define(
    "database_snapshot",
    "A snapshot of a managed database.",
    public="bool",
    encrypted="bool",
    shared_with="list[str]",
)
_define(
    "encryption_key",
    "A key in a key management service.",
    state="str: enabled, disabled, pending_deletion …",
    rotation_enabled="bool",
    rotation_period_days="int|None",
    customer_managed="bool",
    expires_at="str|None",
    policy="dict|None",
)
_define(
    "service_user",
    "A human or programmatic identity (IAM user, RAM user, service principal).",
    console_access="bool",
    mfa_enabled="bool",
    access_keys="list[{id, active, created_at, last_used_at}]",
    password_last_used_at="str|None",
    attached_policies="list[str]",
    inline_policies="list[dict]",
    groups="list[str]",
)
_define(
    "service_role",
    "A role or service account an identity can assume.",
    trust_policy="dict|None",
    attached_policies="list[str]",
    inline_policies="list[dict]",
    keys="list[{id, created_at}]: user-managed keys (GCP service accounts)",
)
_define(
    "service_policy",
    "A permission policy or custom role definition.",
    document="dict: the policy document",
    attached_count="int|None",
    customer_managed="bool",
)
_define(
    "service_group",
    "A group of users.",
    members="list[str]",
    attached_policies="list[str]",
)
_define(
    "cloud_account",
    "The account / subscription / project itself and its account-wide settings.",
    password_policy="dict|None: min_length, require_symbols, require_numbers, require_uppercase, "
    "require_lowercase, max_age_days, reuse_prevention",
    root_mfa_enabled="bool|None",
    root_access_keys_present="bool|None",
    root_last_used_at="str|None",
    public_access_block="bool|None: account-level storage public access block",
    iam_bindings="list[{role, members}]",
    security_center="dict|None: Defender / Security Center plans and contacts",
)
_define(
    "load_balancer",
    "A load balancer.",
    scheme="str: internet-facing or internal",
    listeners="list[{protocol, port, tls_policy, certificate}]",
    https_only="bool",
    tls_policy="str|None",
    logging_enabled="bool|None",
)
_define(
    "serverless_function",
    "A function (Lambda, Function App, Cloud Function).",
    runtime="str|None",
    public="bool",
    policy="dict|None",
    url_auth_type="str|None",
    role="str|None",
)
_define(
    "message_queue",
    "A queue.",
    public="bool",
    encrypted="bool",
    policy="dict|None",
)
_define(
    "notification_topic",
    "A pub/sub topic.",
    public="bool",
    encrypted="bool",
    policy="dict|None",
)
_define(
    "api_accounting_config",
    "An audit trail / activity log / audit config.",
    multi_region="bool",
    logging="bool",
    log_file_validation="bool|None",
    kms_key_id="str|None",
)
_define(
    "certificate",
    "A TLS certificate.",
    domain="str|None",
    expires_at="str|None",
    status="str|None",
)
_define(
    "dns_zone",
    "A DNS zone.",
    private="bool",
    record_count="int|None",
)
_define(
    "nosql_table",
    "A NoSQL table.",
    encrypted="bool",
    point_in_time_recovery="bool",
)
_define(
    "container_cluster",
    "A managed Kubernetes cluster.",
    version="str|None",
    endpoint_public="bool",
    logging_enabled="bool",
    rbac_enabled="bool|None",
    network_policy_enabled="bool|None",
)
_define(
    "secret",
    "A managed secret.",
    rotation_enabled="bool",
    last_rotated_at="str|None",
    kms_key_id="str|None",
)
_define(
    "log_group",
    "A log group / sink.",
    retention_days="int|None",
    kms_key_id="str|None",
)
_define(
    "container_registry",
    "A container image repository.",
    scan_on_push="bool",
    tag_immutable="bool",
    public="bool",
    policy="dict|None",
)
_define(
    "resource_group",
    "A cloud-side grouping of resources (Azure resource group).",
    location="str|None",
)
_define(
    "region",
    "A region the account can use.",
    enabled="bool",
)
_define(
    "web_app",
    "A managed web application (App Service).",
    https_only="bool",
    min_tls_version="str|None",
    ftp_enabled="bool|None",
)
_define(
    "key_vault",
    "A vault of keys, secrets and certificates (Azure Key Vault).",
    soft_delete_enabled="bool",
    purge_protection_enabled="bool",
    rbac_enabled="bool|None: access decided by RBAC rather than vault access policies",
    public_network_access="bool",
    network_default_action="str|None: allow or deny when no firewall rule matches",
    allowed_ip_ranges="list[str]",
)


# ---------------------------------------------------------------------------------------------
# Optional keys that compliance insights (compliance/insights/*.yaml) read. A harvester fills
# them where its cloud has the notion; the filter language treats an absent key like None, so a
# cloud that does not (yet) fill one is evaluated as "unknown", never as a crash.
def _add(name: str, **properties: str) -> None:
    TYPES[name].optional.update(properties)


_add("service_user", created_at="str|None: when the user was created (stale-credential checks for never-used ones)")
_add(
    "cloud_account",
    ebs_encryption_by_default="bool|None: AWS EBS encryption by default (any region off = False)",
    config_recorder_enabled="bool|None: AWS Config / Alibaba Cloud Config recording resource changes",
    threat_detection_enabled="bool|None: GuardDuty, Security Command Center or Alibaba Security Center on",
    access_analyzer_enabled="bool|None: AWS IAM Access Analyzer active",
)
# cloud_account.security_center (Azure) is expected in this shape:
#   {plans: {VirtualMachines|AppServices|SqlServers|SqlServerVirtualMachines|OpenSourceRelationalDatabases|
#            StorageAccounts|Containers|KeyVaults|Arm|CosmosDbs: "Free"|"Standard"},
#    contact_emails: [str], alert_notifications: bool, alert_to_owners: bool, auto_provisioning: bool,
#    mde_integration: bool}
_add("api_accounting_config", log_group="str|None: log group the trail also delivers to (CloudWatch Logs)")
_add("container_cluster", secrets_encrypted="bool|None: Kubernetes secrets envelope-encrypted with a KMS key")
_add(
    "database_instance",
    deletion_protection="bool|None",
    auto_minor_version_upgrade="bool|None",
    audit_logging_enabled="bool|None: SQL auditing (Azure SQL auditing, Alibaba SQL audit)",
    threat_detection_enabled="bool|None: Defender for SQL / advanced threat protection",
)
_add("dns_zone", dnssec_enabled="bool|None")
_add(
    "instance",
    serial_port_enabled="bool|None: interactive serial console (GCP serial-port-enable)",
    ip_forwarding="bool|None: GCP canIpForward (AWS: source/dest check disabled)",
)
_add("secret", expires_at="str|None")
_add(
    "storage_container",
    mfa_delete="bool|None: S3 MFA delete",
    min_tls_version="str|None: e.g. TLS1_2 (Azure storage accounts)",
)
_add("web_app", auth_enabled="bool|None: App Service Authentication")


def missing_properties(resource_type: str, properties: dict) -> list[str]:
    """The common keys of ``resource_type`` that ``properties`` lacks (used by tests and sync)."""
    spec = TYPES[resource_type]
    return [key for key in spec.properties if key not in properties]

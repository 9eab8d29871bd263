"""Inventory: organizations, cloud accounts, harvested resources and their history."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from insightcloud.crypto import EncryptedJSONField


class Organization(models.Model):
    """A tenant: its clouds, resources, findings and jobs are invisible to other organizations."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Badge(models.Model):
    """A key/value label put on cloud accounts (environment=prod, owner=payments …)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="badges")
    key = models.CharField(max_length=100)
    value = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "key", "value"], name="badge_unique")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}" if self.value else self.key


class Provider(models.TextChoices):
    AWS = "aws", "Amazon Web Services"
    AZURE = "azure", "Microsoft Azure"
    GCP = "gcp", "Google Cloud"
    ALIBABA = "alibaba", "Alibaba Cloud"


class CloudStatus(models.TextChoices):
    PENDING = "pending", "Pending first harvest"
    OK = "ok", "OK"
    INVALID_CREDENTIALS = "invalid_credentials", "Invalid credentials"
    ASSUME_ROLE_FAILED = "assume_role_failed", "Assume-role failed"
    PAUSED = "paused", "Paused"
    CLOSED = "closed", "Closed (no longer in the organization)"


class CloudAccount(models.Model):
    """One AWS account, Azure subscription, GCP project or Alibaba account.

    ``auth_settings`` holds what is safe to show (role ARN, tenant id, endpoint); ``credentials``
    holds the secrets, encrypted at rest and never returned by the API or printed.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="clouds")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    name = models.CharField(max_length=200)
    account_id = models.CharField(max_length=200, help_text="AWS account id, subscription id, project id …")
    auth_type = models.CharField(max_length=50)
    auth_settings = models.JSONField(default=dict, blank=True)
    credentials = EncryptedJSONField(blank=True, default=dict)
    regions = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=32, choices=CloudStatus.choices, default=CloudStatus.PENDING)
    status_detail = models.TextField(blank=True)
    badges = models.ManyToManyField(Badge, blank=True, related_name="clouds")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_harvest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="cloud_name_unique_in_org")]
        indexes = [models.Index(fields=["provider", "account_id"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider} {self.account_id})"

    def __repr__(self) -> str:
        # Never include credentials, even redacted, in a repr that may end up in a log.
        return f"<CloudAccount {self.pk} {self.provider}:{self.account_id} {self.name!r}>"


def cloud_names() -> models.Prefetch:
    """Prefetch of the few cloud columns a resource list shows (never the encrypted credentials)."""
    return models.Prefetch("cloud", queryset=CloudAccount.objects.only("id", "name", "account_id", "provider"))


class Resource(models.Model):
    """One harvested cloud resource; ``properties`` are normalized (harvesters/normalized.py)."""

    cloud = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="resources")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    resource_type = models.CharField(max_length=64, help_text="normalized type, e.g. instance")
    native_type = models.CharField(max_length=128, help_text="e.g. aws.ec2.instance")
    region = models.CharField(max_length=64)
    # 512 characters keeps the unique key under InnoDB's 3072-byte limit in utf8mb4.
    native_id = models.CharField(max_length=512, help_text="ARN or the cloud's resource id")
    name = models.CharField(max_length=512, blank=True)
    properties = models.JSONField(default=dict)
    raw = models.JSONField(default=dict)
    tags = models.JSONField(default=dict)
    fingerprint = models.CharField(max_length=64, help_text="hash of properties, raw and tags")
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now, help_text="last created/modified/deleted change")
    # Denormalized from compliance findings, kept current by compliance/findings_flag.py (which says
    # what counts): the inventory's has-findings filter reads it through an index instead of a
    # subquery over every finding. A database default too: the sync pipeline inserts rows in raw SQL.
    has_open_findings = models.BooleanField(
        default=False, db_default=False, editable=False, help_text="has an open finding that no active exemption covers"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cloud", "native_type", "region", "native_id"], name="resource_unique_native_id"
            )
        ]
        indexes = [
            # Inventory page: live resources (of a type, in a region) already in name order, so a
            # page is an index range scan rather than a sort of every match.
            models.Index(fields=["deleted_at", "name"], name="res_live_name"),
            models.Index(fields=["deleted_at", "resource_type", "region", "name"], name="res_live_type_region"),
            models.Index(fields=["deleted_at", "has_open_findings", "name"], name="res_live_findings_name"),
            models.Index(fields=["cloud", "deleted_at", "resource_type"], name="res_cloud_live_type"),
            # Per-cloud counts by type and region (dashboard) read this index only. It does not replace
            # the one above: without it MariaDB counts per cloud through res_live_name and row lookups.
            models.Index(fields=["cloud", "deleted_at", "resource_type", "region"], name="res_cloud_live_type_region"),
            models.Index(fields=["native_type"], name="res_native_type"),
            models.Index(fields=["native_id"], name="res_native_id"),
            # Incremental evaluation: what changed since the last run.
            models.Index(fields=["cloud", "updated_at"], name="res_cloud_updated"),
        ]

    def __str__(self) -> str:
        return self.name or self.native_id

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ChangeType(models.TextChoices):
    CREATED = "created", "Created"
    MODIFIED = "modified", "Modified"
    DELETED = "deleted", "Deleted"


class ResourceChange(models.Model):
    """A created / modified / deleted event for a resource, with the key-level diff."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="changes")
    cloud = models.ForeignKey(CloudAccount, on_delete=models.CASCADE, related_name="resource_changes")
    change_type = models.CharField(max_length=16, choices=ChangeType.choices)
    diff = models.JSONField(default=dict, blank=True, help_text="{path: [old, new]}")
    job = models.ForeignKey(
        "scheduler.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="resource_changes"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["resource", "created_at"], name="change_resource_time"),
            models.Index(fields=["cloud", "created_at"], name="change_cloud_time"),
        ]


class ResourceGroup(models.Model):
    """A named set of resources that roles, exemptions and reports can be scoped to."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="resource_groups")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    resources = models.ManyToManyField(Resource, blank=True, related_name="groups")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="group_name_unique_in_org")]

    def __str__(self) -> str:
        return self.name

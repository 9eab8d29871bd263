"""Users, their access level and organization, and the audit log."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class AccessLevel(models.TextChoices):
    DOMAIN_ADMIN = "domain_admin", "Domain admin"
    DOMAIN_VIEWER = "domain_viewer", "Domain viewer"
    ORGANIZATION_ADMIN = "organization_admin", "Organization admin"
    BASIC = "basic", "Basic user"


class User(AbstractUser):
    organization = models.ForeignKey(
        "inventory.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    access_level = models.CharField(max_length=32, choices=AccessLevel.choices, default=AccessLevel.BASIC)
    api_only = models.BooleanField(default=False, help_text="may use API keys but not log in to the GUI")


class AuditEvent(models.Model):
    """Who did what, when and from where: every change and every action."""

    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    actor_name = models.CharField(max_length=150, help_text="kept when the user is deleted; 'system' for jobs")
    organization = models.ForeignKey("inventory.Organization", null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=100)
    target = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    source_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]


class Role(models.Model):
    """What a basic user may see and do inside their organization.

    A role grants view (always) and optionally manage (enqueue harvests, run actions, exempt,
    edit insights) over all the organization's clouds, or only over chosen clouds and resource
    groups.
    """

    organization = models.ForeignKey("inventory.Organization", on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(max_length=100)
    can_manage = models.BooleanField(default=False)
    all_clouds = models.BooleanField(default=False)
    clouds = models.ManyToManyField("inventory.CloudAccount", blank=True, related_name="roles")
    resource_groups = models.ManyToManyField("inventory.ResourceGroup", blank=True, related_name="roles")
    users = models.ManyToManyField(User, blank=True, related_name="roles")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="role_name_unique_in_org")]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A per-user API key: shown once at creation, stored as a SHA-256 hash, revocable."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True, help_text="public part, shown in lists")
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

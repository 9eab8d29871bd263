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

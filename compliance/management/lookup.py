"""Finding the organization and cloud a command means, with one-line errors."""

from __future__ import annotations

from django.core.management.base import CommandError

from insightcloud.inventory.models import CloudAccount, Organization


def organization(slug: str | None) -> Organization:
    if slug:
        found = Organization.objects.filter(slug=slug).first()
        if not found:
            raise CommandError(f"unknown organization {slug!r}")
        return found
    organizations = list(Organization.objects.all()[:2])
    if len(organizations) != 1:
        raise CommandError("several organizations (or none) exist: name one with --organization SLUG")
    return organizations[0]


def cloud(name: str, organization_slug: str | None = None) -> CloudAccount:
    clouds = CloudAccount.objects.filter(name=name)
    if organization_slug:
        clouds = clouds.filter(organization__slug=organization_slug)
    found = list(clouds[:2])
    if not found:
        raise CommandError(f"unknown cloud {name!r}")
    if len(found) > 1:
        raise CommandError(f"several organizations have a cloud named {name!r}: add --organization SLUG")
    return found[0]

"""Finding a cloud by name for the management commands."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError


def find_cloud(name: str, organization: str | None = None) -> Any:
    from insightcloud.inventory.models import CloudAccount

    clouds = CloudAccount.objects.select_related("organization").filter(name=name)
    if organization:
        clouds = clouds.filter(organization__slug=organization)
    found = list(clouds[:2])
    if not found:
        raise CommandError(f"no cloud named {name!r}" + (f" in {organization}" if organization else ""))
    if len(found) > 1:
        raise CommandError(f"several organizations have a cloud named {name!r}: choose one with --organization")
    return found[0]


def split_list(value: str | None) -> list[str] | None:
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    return items or None

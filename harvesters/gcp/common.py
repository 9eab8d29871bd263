"""Small helpers the GCP collectors share: ids from URLs, times, IAM policies, regions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from harvesters.base import GLOBAL

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
PRIMITIVE_ROLES = ("roles/owner", "roles/editor", "roles/viewer")


def resource_path(url: str | None) -> str | None:
    """``https://…/compute/v1/projects/p/zones/z/instances/i`` -> ``projects/p/zones/z/instances/i``.

    Compute references each other by full URL (with a host that depends on the endpoint); the
    path from ``projects/`` on is the stable id we store and join on.
    """
    if not url:
        return None
    index = url.find("projects/")
    return url[index:] if index >= 0 else url


def last_segment(url: str | None) -> str | None:
    return url.rstrip("/").rsplit("/", 1)[-1] if url else None


def region_of_zone(zone: str) -> str:
    """``us-central1-a`` -> ``us-central1`` (a region name is returned unchanged)."""
    parts = zone.split("-")
    return "-".join(parts[:-1]) if len(parts) >= 3 else zone


def region_of_scope(scope: str) -> str:
    """An aggregatedList scope (``zones/us-central1-a``, ``regions/us-central1``, ``global``) -> region."""
    kind, _, name = scope.partition("/")
    if kind == "zones":
        return region_of_zone(name)
    if kind == "regions":
        return name
    return GLOBAL


def utc_iso(value: str | None) -> str | None:
    """An RFC 3339 time with any offset (Google's ``-08:00``, ``Z``) -> ISO-8601 in UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def age_days(value: str | None, now: datetime | None = None) -> int | None:
    iso = utc_iso(value)
    if not iso:
        return None
    try:
        then = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return ((now or datetime.now(UTC)) - then).days


def seconds_to_days(duration: str | None) -> int | None:
    """A protobuf Duration (``"7776000s"``) -> whole days."""
    if not duration:
        return None
    try:
        return int(float(duration.rstrip("s")) // 86400)
    except ValueError:
        return None


def bindings(policy: dict | None) -> list[dict[str, Any]]:
    """An IAM policy's bindings as ``[{role, members}]`` (conditions kept when present)."""
    result = []
    for binding in (policy or {}).get("bindings") or []:
        entry: dict[str, Any] = {"role": binding.get("role"), "members": list(binding.get("members") or [])}
        if binding.get("condition"):
            entry["condition"] = binding["condition"]
        result.append(entry)
    return result


def public_reasons(policy: dict | None) -> list[str]:
    """Why an IAM policy makes its resource public: ``IAM grants allUsers roles/storage.objectViewer``."""
    return [
        f"IAM grants {member} {binding['role']}"
        for binding in bindings(policy)
        for member in binding["members"]
        if member in PUBLIC_MEMBERS
    ]


def shared_with(policy: dict | None) -> list[str]:
    """Members a policy grants something to, other than the public ones (sorted, unique)."""
    return sorted({m for b in bindings(policy) for m in b["members"] if m not in PUBLIC_MEMBERS})


def metadata_items(metadata: dict | None) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in (metadata or {}).get("items") or [] if "key" in item}


def truthy(value: str | None) -> bool | None:
    """Compute metadata booleans (``TRUE``, ``true``, ``1``, ``y``); None when unset."""
    if value is None:
        return None
    return str(value).strip().lower() in ("true", "1", "y", "yes", "on")


def labels(record: dict, key: str = "labels") -> dict[str, str]:
    return {str(k): str(v) for k, v in (record.get(key) or {}).items()}

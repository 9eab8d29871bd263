"""Small helpers the Azure collectors share: records, regions, ids, times and durations."""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from harvesters.base import ResourceRecord


def location(body: dict) -> str:
    """ARM locations come as ``eastus`` or ``East US`` depending on the API: compare them folded."""
    return (body.get("location") or "").replace(" ", "").lower()


def in_region(bodies: Iterable[dict], region: str) -> Iterator[dict]:
    wanted = region.replace(" ", "").lower()
    return (body for body in bodies if location(body) == wanted)


def lower_id(arm_id: str | None) -> str | None:
    """ARM ids are case-insensitive and APIs disagree on case: we store and compare them lower-cased."""
    return arm_id.lower() if arm_id else None


def ref_id(ref: dict | None) -> str | None:
    """The id of a ``{"id": ...}`` sub-resource reference."""
    return lower_id((ref or {}).get("id"))


def props(body: dict) -> dict:
    return body.get("properties") or {}


def record(resource_type: str, native_type: str, region: str, body: dict, properties: dict[str, Any]) -> ResourceRecord:
    """A ResourceRecord from an ARM body, with ``resource_group`` added to the properties."""
    from harvesters.azure.session import parse_id

    properties.setdefault("resource_group", parse_id(body.get("id", ""))["resource_group"].lower() or None)
    return ResourceRecord(
        resource_type=resource_type,
        native_type=native_type,
        region=region,
        native_id=lower_id(body["id"]) or "",
        name=body.get("name") or "",
        properties=properties,
        raw=body,
        tags={str(k): str(v) for k, v in (body.get("tags") or {}).items()},
    )


def epoch_to_iso(value: Any) -> str | None:
    """Key Vault attributes are Unix seconds; the normalized form is ISO-8601 UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.datetime.fromtimestamp(value, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?", re.IGNORECASE)


def duration_days(value: str | None) -> int | None:
    """Days in an ISO-8601 duration such as ``P90D``, ``P1Y`` or ``P3M`` (months count 30 days)."""
    if not value:
        return None
    match = _DURATION.match(value)
    if not match or not any(match.groups()):
        return None
    years, months, weeks, days = (int(g or 0) for g in match.groups())
    return years * 365 + months * 30 + weeks * 7 + days


def range_to_cidrs(start: str, end: str) -> list[str]:
    """An IPv4 start–end range (SQL firewall rules) as CIDR blocks; 0.0.0.0–255.255.255.255 is 0.0.0.0/0."""
    try:
        first, last = ipaddress.ip_address(start), ipaddress.ip_address(end)
        return [str(net) for net in ipaddress.summarize_address_range(first, last)]
    except (ValueError, TypeError):
        return [f"{start}-{end}"]


def enabled_flag(value: Any) -> bool:
    """ARM spells switches as booleans or as "Enabled"/"Disabled"/"On"/"Off"."""
    if isinstance(value, bool):
        return value
    return str(value or "").lower() in ("enabled", "on", "true")


def harvest_errors(collect: Callable[[Any, str], Iterator[ResourceRecord]]) -> Callable:
    """Turn the SDK's errors into our HarvestError kinds as the listing runs, so that a listing that cannot
    complete (even on its last page) raises instead of ending early, and is classified the same everywhere."""

    @functools.wraps(collect)
    def wrapper(ctx: Any, region: str) -> Iterator[ResourceRecord]:
        # Imported when a listing runs, not when collectors register (the web process loads no SDK).
        from azure.core.exceptions import AzureError

        from harvesters.azure.session import classify

        try:
            yield from collect(ctx, region)
        except AzureError as exc:
            raise classify(exc) from exc

    return wrapper

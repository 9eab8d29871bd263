"""Small helpers the Alibaba collectors share: tags, booleans, dates, the error wrapper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any

from harvesters.alibaba.driver import classify


def tags_of(record: dict) -> dict[str, str]:
    """``{"Tags": {"Tag": [{"TagKey": k, "TagValue": v}]}}`` (or Key/Value) -> ``{k: v}``."""
    tags = record.get("Tags") or {}
    items = tags.get("Tag", []) if isinstance(tags, dict) else tags
    result = {}
    for tag in items or []:
        key = tag.get("TagKey", tag.get("Key"))
        if key:
            result[str(key)] = str(tag.get("TagValue", tag.get("Value", "")) or "")
    return result


def truthy(value: Any) -> bool:
    """The many spellings of "on" in Alibaba's APIs: True, "true", "Yes", "on", "Enabled", "Enable", 1."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"true", "yes", "on", "enabled", "enable", "1", "active"}


def listed(container: Any, item: str) -> list:
    """``{"X": [..]}`` -> ``[..]``; Alibaba wraps lists, and empty ones come back as "" or {}."""
    value = (container.get(item) if isinstance(container, dict) else container) or []
    if isinstance(value, str):
        return [value] if value else []
    return list(value)


def iso(value: Any) -> str | None:
    """Alibaba's times ("2026-01-02T03:04Z", "2026-01-02T03:04:05Z") as ISO-8601 UTC, or None."""
    if not value:
        return None
    text = str(value)
    if text.endswith("Z") and text.count(":") == 1:
        text = text[:-1] + ":00Z"
    return text


def classified(collect: Callable[..., Iterator]) -> Callable[..., Iterator]:
    """Turn any SDK exception of a collector into our HarvestError kinds (never a partial listing)."""

    @wraps(collect)
    def wrapper(ctx: Any, region: str) -> Iterator:
        try:
            yield from collect(ctx, region)
        except Exception as exc:
            raise classify(exc) from exc

    return wrapper

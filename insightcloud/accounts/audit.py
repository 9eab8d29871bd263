"""Record who did what, when and from where."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from insightcloud.accounts.models import AuditEvent


def client_address(request: Any) -> str | None:
    # REMOTE_ADDR only: forwarded headers are trusted solely through the proxy settings.
    return request.META.get("REMOTE_ADDR") if request is not None else None


def record(
    action: str,
    *,
    actor: Any = None,
    request: Any = None,
    target: Any = "",
    organization: Any = None,
    **details: Any,
) -> AuditEvent:
    event = _event(action, actor, request, target, organization, details)
    event.save()
    return event


def record_many(action: str, entries: Iterable[tuple[Any, Any, dict]], *, actor: Any = None, request: Any = None):  # noqa: ANN201
    """One event per ``(target, organization, details)`` of a bulk operation, written in one insert."""
    events = [_event(action, actor, request, target, org, details) for target, org, details in entries]
    return AuditEvent.objects.bulk_create(events, batch_size=1000)


def _event(action: str, actor: Any, request: Any, target: Any, organization: Any, details: dict) -> AuditEvent:
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return AuditEvent(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", None) or (str(actor) if actor else "system"),
        organization=organization or getattr(actor, "organization", None),
        action=action,
        target=str(target)[:300],
        details=details,
        source_address=client_address(request),
    )

"""Record who did what, when and from where."""

from __future__ import annotations

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
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", None) or (str(actor) if actor else "system"),
        organization=organization or getattr(actor, "organization", None),
        action=action,
        target=str(target)[:300],
        details=details,
        source_address=client_address(request),
    )

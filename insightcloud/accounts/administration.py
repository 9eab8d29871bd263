"""Changes to users and roles, shared by the System pages and the API.

Callers have already checked the rules (insightcloud.accounts.permissions); these functions make
the change and leave the audit trail, so the GUI and the API record the same events. Passwords
are never put in an audit event.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from insightcloud.accounts import audit
from insightcloud.accounts.models import Role, User

#: The user fields an administrator edits (the password has its own path).
USER_FIELDS = ("username", "email", "first_name", "last_name", "organization", "access_level", "api_only", "is_active")
ROLE_FIELDS = ("organization", "name", "can_manage", "all_clouds")
ROLE_MEMBERS = ("clouds", "resource_groups", "users")


def _shown(value: Any) -> Any:
    if hasattr(value, "all"):
        return sorted(str(item) for item in value.all())
    return str(value) if hasattr(value, "pk") else value


def create_user(actor: User, fields: dict[str, Any], password: str | None, request: Any = None) -> User:
    """Make a user; without a password (API-only users) none can be used to log in."""
    with transaction.atomic():
        user = User(**{name: value for name, value in fields.items() if name in USER_FIELDS})
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        shown = {name: _shown(getattr(user, name)) for name in USER_FIELDS if name != "username"}
        audit.record(
            "user.create",
            actor=actor,
            request=request,
            target=user.username,
            organization=user.organization,
            fields=shown,
        )
    return user


def update_user(actor: User, user: User, fields: dict[str, Any], request: Any = None) -> User:
    """Apply the changed fields and record what changed (old and new values)."""
    if user.pk == actor.pk and fields.get("is_active") is False:
        raise PermissionDenied("you may not deactivate yourself")
    changes = {}
    for name, value in fields.items():
        if name in USER_FIELDS and getattr(user, name) != value:
            changes[name] = [_shown(getattr(user, name)), _shown(value)]
            setattr(user, name, value)
    if changes:
        with transaction.atomic():
            user.save()
            audit.record(
                "user.update",
                actor=actor,
                request=request,
                target=user.username,
                organization=user.organization,
                changes=changes,
            )
    return user


def reset_password(actor: User, user: User, password: str, request: Any = None) -> None:
    """The caller has run the password validators (forms and serializers both do)."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit.record(
            "user.password_reset", actor=actor, request=request, target=user.username, organization=user.organization
        )


def delete_user(actor: User, user: User, request: Any = None) -> None:
    if user.pk == actor.pk:
        raise PermissionDenied("you may not delete yourself")
    with transaction.atomic():
        audit.record("user.delete", actor=actor, request=request, target=user.username, organization=user.organization)
        user.delete()


def save_role(actor: User, role: Role | None, fields: dict[str, Any], request: Any = None) -> Role:
    """Create (role None) or update a role with its clouds, resource groups and members."""
    created = role is None
    role = role or Role()
    before = {} if created else {name: _shown(getattr(role, name)) for name in ROLE_FIELDS + ROLE_MEMBERS}
    with transaction.atomic():
        for name in ROLE_FIELDS:
            if name in fields:
                setattr(role, name, fields[name])
        role.save()
        for name in ROLE_MEMBERS:
            if name in fields:
                getattr(role, name).set(fields[name])
        after = {name: _shown(getattr(role, name)) for name in ROLE_FIELDS + ROLE_MEMBERS}
        if created:
            audit.record(
                "role.create", actor=actor, request=request, target=role, organization=role.organization, fields=after
            )
        elif changes := {name: [before[name], after[name]] for name in after if before[name] != after[name]}:
            audit.record(
                "role.update",
                actor=actor,
                request=request,
                target=role,
                organization=role.organization,
                changes=changes,
            )
    return role


def delete_role(actor: User, role: Role, request: Any = None) -> None:
    with transaction.atomic():
        audit.record("role.delete", actor=actor, request=request, target=role, organization=role.organization)
        role.delete()


def revoke_key(actor: User, key: Any, request: Any = None) -> bool:
    """Revoke an API key (one's own, or as an administrator); recorded once, under the key owner's organization."""
    from insightcloud.accounts.api_keys import revoke_api_key

    if not revoke_api_key(key):
        return False
    owner = key.user
    audit.record(
        "api_key.revoke",
        actor=actor,
        request=request,
        target=key,
        organization=owner.organization,
        owner=owner.username,
    )
    return True

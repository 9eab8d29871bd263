"""API keys: ``ic_<prefix>_<secret>``, sent as ``Authorization: Api-Key <key>`` or ``X-Api-Key``."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from insightcloud.accounts.models import ApiKey, User

LAST_USED_RESOLUTION = timedelta(minutes=1)  # do not write on every request


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(user: User, name: str) -> tuple[ApiKey, str]:
    """Make a key; the plain key is returned once and never stored."""
    prefix = secrets.token_hex(4)
    plain = f"ic_{prefix}_{secrets.token_urlsafe(32)}"
    return ApiKey.objects.create(user=user, name=name, prefix=prefix, key_hash=_hash(plain)), plain


def revoke_api_key(key: ApiKey) -> bool:
    """Revoke once; returns whether this call revoked it."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    return True


def user_for_key(plain: str) -> User | None:
    parts = plain.split("_", 2)
    if len(parts) != 3 or parts[0] != "ic":
        return None
    key = ApiKey.objects.select_related("user").filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.key_hash, _hash(plain)) or not key.user.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key.user


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):  # noqa: ANN001, ANN201
        header = request.META.get("HTTP_AUTHORIZATION", "")
        plain = request.META.get("HTTP_X_API_KEY", "")
        if header.startswith(self.keyword + " "):
            plain = header[len(self.keyword) + 1 :].strip()
        if not plain:
            return None
        user = user_for_key(plain)
        if user is None:
            raise exceptions.AuthenticationFailed("invalid or revoked API key")
        return user, None

    def authenticate_header(self, request) -> str:  # noqa: ANN001
        return self.keyword

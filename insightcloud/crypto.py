"""Secrets at rest: Fernet encryption for credential fields, and values that never print.

``INSIGHTCLOUD_ENCRYPTION_KEY`` may hold several comma-separated keys: the first encrypts,
all decrypt, so a key can be rotated by prepending the new one and re-saving.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

REDACTED = "<redacted>"


class SecretDict(dict):
    """A dict of credentials whose repr/str never shows the values (safe in logs and tracebacks)."""

    def __repr__(self) -> str:
        return f"SecretDict({{{', '.join(f'{k!r}: {REDACTED!r}' for k in self)}}})"

    __str__ = __repr__


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.ENCRYPTION_KEYS])


def encrypt_json(value: dict) -> str:
    return _fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict:
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise ValueError(
            "stored credentials cannot be decrypted: "
            "INSIGHTCLOUD_ENCRYPTION_KEY differs from the key they were saved with"
        ) from None


class EncryptedJSONField(models.TextField):
    """A JSON object stored as a Fernet token; reads back as a :class:`SecretDict`."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> SecretDict | None:
        if value is None or value == "":
            return SecretDict()
        return SecretDict(decrypt_json(value))

    def to_python(self, value: Any) -> SecretDict:
        if isinstance(value, dict):
            return SecretDict(value)
        if not value:
            return SecretDict()
        return SecretDict(decrypt_json(value))

    def get_prep_value(self, value: Any) -> str:
        return encrypt_json(dict(value or {}))

    def value_to_string(self, obj: Any) -> str:
        # Serialization (dumpdata) keeps the ciphertext, never the plain value.
        return self.get_prep_value(self.value_from_object(obj))

"""Typed settings helpers: every value comes from the environment or the prod.env file.

A bad value raises :class:`SettingError` naming the variable; ``manage.py`` turns that into one
line on standard error and exit code 2 instead of a traceback.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

DEFAULT_ENV_FILE = Path("/divvycloud/prod.env")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingError(Exception):
    """A setting has a value we refuse; the message starts with the variable's name."""


def env_file_path() -> Path | None:
    """The env file: ``INSIGHTCLOUD_ENV_FILE`` if set ("none" for no file), else /divvycloud/prod.env if it exists."""
    explicit = os.environ.get("INSIGHTCLOUD_ENV_FILE")
    if explicit == "none":  # tests and tools that must ignore any installed prod.env
        return None
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise SettingError(f"INSIGHTCLOUD_ENV_FILE: no such file {explicit!r}")
        return path
    return DEFAULT_ENV_FILE if DEFAULT_ENV_FILE.is_file() else None


def parse_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; ``#`` comments, blank lines, ``export`` prefixes and shell quoting allowed."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum():
            raise SettingError(f"{path}:{number}: expected KEY=VALUE, got {raw.strip()!r}")
        try:
            parts = shlex.split(value, comments=True)
        except ValueError as exc:
            raise SettingError(f"{path}:{number}: {key}: {exc}") from None
        values[key] = " ".join(parts)
    return values


class Env:
    """Reads variables from the process environment first, then from the env file."""

    def __init__(self, file_values: dict[str, str] | None = None, environ: dict[str, str] | None = None) -> None:
        self.file_values = file_values or {}
        self.environ = os.environ if environ is None else environ

    @classmethod
    def load(cls) -> Env:
        path = env_file_path()
        return cls(parse_env_file(path) if path else {})

    def raw(self, name: str) -> str | None:
        if name in self.environ:
            return self.environ[name]
        return self.file_values.get(name)

    def str(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.raw(name)
        if value is None or value == "":
            if required:
                raise SettingError(f"{name}: required but not set")
            return default
        return value

    def int(self, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        try:
            number = int(value.strip())
        except ValueError:
            raise SettingError(f"{name}: expected a whole number, got {value!r}") from None
        if minimum is not None and number < minimum:
            raise SettingError(f"{name}: must be at least {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise SettingError(f"{name}: must be at most {maximum}, got {number}")
        return number

    def bool(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise SettingError(f"{name}: expected true or false, got {value!r}")

    def list(self, name: str, default: list[str]) -> list[str]:
        value = self.raw(name)
        if value is None:
            return list(default)
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        normalized = value.strip().upper() if all(c.isupper() for c in choices) else value.strip()
        if normalized not in choices:
            raise SettingError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
        return normalized

    def path(self, name: str, default: Path) -> Path:
        value = self.raw(name)
        return Path(value).expanduser().resolve() if value else default.resolve()

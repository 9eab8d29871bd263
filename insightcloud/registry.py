"""One registry per kind of plug-in, filled by decorators at import time.

Every plug-in module is imported from an ``AppConfig.ready()``; after that the registry is
locked so a late import cannot silently add or replace an item (NetBox does the same).
A meta-test walks every registered item and checks its docstring and schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

#: The kinds of plug-in the project knows. Adding a kind is a deliberate change.
KINDS = ("clouds", "resource_types", "filters", "actions", "jobs")


class RegistryError(Exception):
    """A plug-in was registered twice, after the lock, or looked up under an unknown name."""


class Registry:
    def __init__(self, kinds: tuple[str, ...] = KINDS) -> None:
        self._stores: dict[str, dict[str, Any]] = {kind: {} for kind in kinds}
        self._locked = False

    def register(self, kind: str, name: str, item: Any) -> Any:
        store = self._store(kind)
        if self._locked:
            raise RegistryError(f"registry is locked: cannot register {kind} {name!r} after start-up")
        if name in store and store[name] is not item:
            raise RegistryError(f"{kind} {name!r} is already registered")
        store[name] = item
        return item

    def decorator(self, kind: str, name: str) -> Callable[[Any], Any]:
        """``@registry.decorator("jobs", "noop")`` registers the decorated object under that name."""

        def wrap(item: Any) -> Any:
            return self.register(kind, name, item)

        return wrap

    def get(self, kind: str, name: str) -> Any:
        store = self._store(kind)
        try:
            return store[name]
        except KeyError:
            known = ", ".join(sorted(store)) or "none"
            raise RegistryError(f"unknown {kind[:-1].replace('_', ' ')} {name!r}; expected one of {known}") from None

    def names(self, kind: str) -> list[str]:
        return sorted(self._store(kind))

    def items(self, kind: str) -> Iterator[tuple[str, Any]]:
        yield from sorted(self._store(kind).items())

    def lock(self) -> None:
        self._locked = True

    def unlocked(self) -> _Unlocked:
        """Context manager for tests that register throw-away plug-ins."""
        return _Unlocked(self)

    def _store(self, kind: str) -> dict[str, Any]:
        try:
            return self._stores[kind]
        except KeyError:
            raise RegistryError(f"unknown registry kind {kind!r}; expected one of {', '.join(self._stores)}") from None


class _Unlocked:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def __enter__(self) -> Registry:
        self._was_locked = self.registry._locked
        self.registry._locked = False
        return self.registry

    def __exit__(self, *exc: object) -> None:
        self.registry._locked = self._was_locked


registry = Registry()

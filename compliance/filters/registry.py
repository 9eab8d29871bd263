"""Named filters: checks that need Python, registered in the plug-in registry under kind "filters".

    @named_filter("port-open-to-world", schema={"properties": {"ports": {...}}})
    def port_open_to_world(ports=None):
        '''Ingress allowed from anywhere ... Example: ``{port-open-to-world: {ports: [22]}}``'''
        def predicate(properties, context): ...
        return predicate

The factory receives the validated arguments as keywords and returns the predicate; it runs
once per insight. Every schema is an object schema that rejects unknown keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema

from compliance.filters.core import FilterError, Predicate
from insightcloud.registry import RegistryError, registry


@dataclass(frozen=True)
class NamedFilter:
    name: str
    factory: Callable[..., Predicate]
    schema: dict
    description: str

    def compile(self, arguments: Any, path: str) -> Predicate:
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise FilterError(path, f"expected a mapping of arguments, got {arguments!r}")
        validator = jsonschema.Draft202012Validator(self.schema)
        for error in sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path)):
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            raise FilterError(path + where, _human(error))
        return self.factory(**arguments)


def _human(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {}))) or "none"
        return f"unknown argument {extra[0]!r}; expected {allowed}"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    return error.message


def named_filter(name: str, *, schema: dict | None = None) -> Callable[[Callable[..., Predicate]], Callable]:
    """Register a named filter factory with the JSON schema of its arguments."""
    full_schema = {"type": "object", "additionalProperties": False, "properties": {}}
    full_schema.update(schema or {})
    jsonschema.Draft202012Validator.check_schema(full_schema)

    def wrap(factory: Callable[..., Predicate]) -> Callable[..., Predicate]:
        description = (factory.__doc__ or "").strip()
        registry.register("filters", name, NamedFilter(name, factory, full_schema, description))
        return factory

    return wrap


def compile_named(name: Any, arguments: Any, path: str) -> Predicate:
    try:
        named = registry.get("filters", name)
    except RegistryError:
        known = ", ".join(registry.names("filters"))
        parent = path.rsplit(".", 1)[0]
        raise FilterError(
            parent, f"unknown filter {name!r}; expected key/op/value, and, or, not, any, all or one of {known}"
        ) from None
    return named.compile(arguments, path)

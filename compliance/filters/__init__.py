"""The insight filter language: generic key/op/value filters and named filters.

``compile_filters(spec)`` turns an insight's filters into one fast predicate
``predicate(properties, context) -> bool`` (True = the resource violates the insight).
"""

from __future__ import annotations

from compliance.filters import named  # noqa: F401  (registers the named filters)
from compliance.filters.core import (
    EMPTY_CONTEXT,
    OPERATORS,
    Context,
    FilterError,
    Predicate,
    compile_filter,
    compile_filters,
    parse_time,
)
from compliance.filters.registry import NamedFilter, named_filter

__all__ = [
    "EMPTY_CONTEXT",
    "OPERATORS",
    "Context",
    "FilterError",
    "NamedFilter",
    "Predicate",
    "compile_filter",
    "compile_filters",
    "named_filter",
    "parse_time",
]

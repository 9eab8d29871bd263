"""The filter language, compiled once into plain Python closures.

A filter matches a resource that *violates* the insight. Forms (YAML shown)::

    {key: encrypted, op: eq, value: false}            # dotted path over normalized properties
    {key: ingress.cidr, op: eq, value: 0.0.0.0/0}     # a list on the way fans out: any item (default)
    {key: access_keys.active, op: eq, value: true, match: all}   # ... or all items
    {any: access_keys, filters: [...]}                # one list item must match every sub-filter
    {all: listeners, filters: [...]}                  # every list item must (an empty list: no match)
    {and: [...]} / {or: [...]} / {not: {...}}
    {port-open-to-world: {ports: [22]}}               # a named filter (compliance.filters.named)

A list of filters (an insight's ``filters``) is an implicit ``and``.

Compiled predicates have the signature ``predicate(properties, context) -> bool`` where
``context`` is a :class:`Context` (account id, region, name, tags): a few named filters need to
know whose account a resource is in. Compilation validates as it goes and raises
:class:`FilterError` with the path of the offending key, so an invalid filter is refused before
anything is saved and a valid one is never re-interpreted per resource.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

Predicate = Callable[[dict, "Context"], bool]

_MISSING = object()


@dataclass(frozen=True)
class Context:
    """What a filter may know beyond a resource's properties: one per evaluation of a cloud."""

    account_id: str = ""
    now: datetime | None = None  # evaluation time; None means "now" at call time


EMPTY_CONTEXT = Context()


class FilterError(ValueError):
    """A filter that cannot be compiled; ``path`` locates the offending key (``filters[2].op``)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class _Fan(list):
    """Values reached through a list on the path: the operator applies to each item."""


# --------------------------------------------------------------------------- paths


def compile_path(key: str) -> Callable[[dict], Any]:
    """``"a.b.c"`` -> a getter returning the value, ``_MISSING``, or a ``_Fan`` of values."""
    parts = key.split(".")
    if len(parts) == 1:
        only = parts[0]

        def get_one(props: dict) -> Any:
            return props.get(only, _MISSING)

        return get_one

    def get_path(props: dict) -> Any:
        current: Any = props
        fanned = False
        for part in parts:
            if fanned:
                nxt = _Fan()
                for item in current:
                    if isinstance(item, dict) and part in item:
                        value = item[part]
                        if isinstance(value, list):
                            nxt.extend(value)
                        else:
                            nxt.append(value)
                current = nxt
            elif isinstance(current, dict):
                current = current.get(part, _MISSING)
                if current is _MISSING:
                    return _MISSING
            elif isinstance(current, list):
                fanned = True
                nxt = _Fan()
                for item in current:
                    if isinstance(item, dict) and part in item:
                        value = item[part]
                        if isinstance(value, list):
                            nxt.extend(value)
                        else:
                            nxt.append(value)
                current = nxt
            else:
                return _MISSING
        return current

    return get_path


# --------------------------------------------------------------------------- operators


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string (``Z`` allowed) or datetime as an aware UTC datetime; None if not a time."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _now(ctx: Context) -> datetime:
    return ctx.now or datetime.now(UTC)


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FilterError(path, f"expected a number, got {value!r}")
    return value


def _network(value: Any, path: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise FilterError(path, f"expected an IP address or CIDR, got {value!r}") from None


def _as_network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


# Each factory takes (value, path) and returns a test on one resolved value (never _MISSING).
def _op_eq(value: Any, path: str) -> Callable[[Any], bool]:
    return lambda v: v == value


def _op_ne(value: Any, path: str) -> Callable[[Any], bool]:
    return lambda v: v != value


def _op_in(value: Any, path: str) -> Callable[[Any], bool]:
    if not isinstance(value, list):
        raise FilterError(path, f"expected a list for 'in', got {value!r}")
    members = _hashable_set(value)
    if members is not None:
        return lambda v: v.__hash__ is not None and v in members
    return lambda v: v in value


def _op_not_in(value: Any, path: str) -> Callable[[Any], bool]:
    test = _op_in(value, path)
    return lambda v: not test(v)


def _hashable_set(values: list) -> frozenset | None:
    try:
        return frozenset(values)
    except TypeError:
        return None


def _op_contains(value: Any, path: str) -> Callable[[Any], bool]:
    def test(v: Any) -> bool:
        if isinstance(v, list | str | dict):
            try:
                return value in v
            except TypeError:
                return False
        return False

    return test


def _op_regex(value: Any, path: str) -> Callable[[Any], bool]:
    if not isinstance(value, str):
        raise FilterError(path, f"expected a regular expression string, got {value!r}")
    try:
        pattern = re.compile(value)
    except re.error as exc:
        raise FilterError(path, f"invalid regular expression {value!r}: {exc}") from None
    return lambda v: isinstance(v, str) and pattern.search(v) is not None


def _comparison(compare: Callable[[Any, Any], bool]) -> Callable[[Any, str], Callable[[Any], bool]]:
    def factory(value: Any, path: str) -> Callable[[Any], bool]:
        if isinstance(value, str):  # strings compare as strings (versions, ISO times)
            return lambda v: isinstance(v, str) and compare(v, value)
        number = _number(value, path)
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and compare(v, number)

    return factory


def _op_present(value: Any, path: str) -> Callable[[Any], bool]:
    return lambda v: v is not None


def _op_absent(value: Any, path: str) -> Callable[[Any], bool]:
    return lambda v: v is None


def _op_empty(value: Any, path: str) -> Callable[[Any], bool]:
    return lambda v: v is None or (isinstance(v, list | dict | str) and len(v) == 0)


def _op_cidr_contains(value: Any, path: str) -> Callable[[Any], bool]:
    target = _network(value, path)

    def test(v: Any) -> bool:
        network = _as_network(v)
        return network is not None and network.version == target.version and target.subnet_of(network)

    return test


def _op_age_older_than(value: Any, path: str) -> Callable[..., bool]:
    days = _number(value, path)
    delta = timedelta(days=days)

    def test(v: Any, ctx: Context = EMPTY_CONTEXT) -> bool:
        when = parse_time(v)
        return when is not None and when < _now(ctx) - delta

    test.needs_context = True  # type: ignore[attr-defined]
    return test


OPERATORS: dict[str, Callable[[Any, str], Callable[..., bool]]] = {
    "eq": _op_eq,
    "ne": _op_ne,
    "in": _op_in,
    "not-in": _op_not_in,
    "contains": _op_contains,
    "regex": _op_regex,
    "gt": _comparison(lambda a, b: a > b),
    "gte": _comparison(lambda a, b: a >= b),
    "lt": _comparison(lambda a, b: a < b),
    "lte": _comparison(lambda a, b: a <= b),
    "present": _op_present,
    "absent": _op_absent,
    "empty": _op_empty,
    "cidr-contains": _op_cidr_contains,
    "age-older-than": _op_age_older_than,
}
#: Operators that take no value.
UNARY = frozenset({"present", "absent", "empty"})
#: Operators that look at a list as a whole instead of fanning out over its items.
WHOLE_VALUE = frozenset({"present", "absent", "empty", "contains"})
#: Operators that hold for a missing key (a missing key is None for them).
MISSING_MATCHES = frozenset({"absent", "empty", "ne", "not-in"})


# --------------------------------------------------------------------------- compilation


def compile_filters(filters: Any, path: str = "filters") -> Predicate:
    """Compile an insight's ``filters`` (a list, implicitly and-ed, or one filter)."""
    if isinstance(filters, list):
        if not filters:
            raise FilterError(path, "expected at least one filter")
        return _all_of([compile_filter(item, f"{path}[{i}]") for i, item in enumerate(filters)])
    return compile_filter(filters, path)


def compile_filter(spec: Any, path: str = "filter") -> Predicate:
    if not isinstance(spec, dict):
        raise FilterError(
            path, f"expected a mapping (key/op/value, and, or, not, any, all or a named filter), got {spec!r}"
        )
    if "key" in spec or "op" in spec:
        return _compile_leaf(spec, path)
    if "and" in spec or "or" in spec:
        word = "and" if "and" in spec else "or"
        _only_keys(spec, {word}, path)
        items = spec[word]
        if not isinstance(items, list) or not items:
            raise FilterError(f"{path}.{word}", "expected a non-empty list of filters")
        compiled = [compile_filter(item, f"{path}.{word}[{i}]") for i, item in enumerate(items)]
        return _all_of(compiled) if word == "and" else _any_of(compiled)
    if "not" in spec:
        _only_keys(spec, {"not"}, path)
        inner = compile_filter(spec["not"], f"{path}.not")
        return lambda p, c: not inner(p, c)
    if "any" in spec or "all" in spec:
        return _compile_quantified(spec, path)
    if len(spec) == 1:
        from compliance.filters.registry import compile_named

        ((name, arguments),) = spec.items()
        return compile_named(name, arguments, f"{path}.{name}")
    raise FilterError(path, f"cannot tell what kind of filter this is (keys {', '.join(map(str, spec))})")


def _only_keys(spec: dict, allowed: set[str], path: str) -> None:
    extra = sorted(set(spec) - allowed)
    if extra:
        raise FilterError(f"{path}.{extra[0]}", f"unexpected key; expected only {', '.join(sorted(allowed))}")


def _compile_leaf(spec: dict, path: str) -> Predicate:
    _only_keys(spec, {"key", "op", "value", "match"}, path)
    key = spec.get("key")
    if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
        raise FilterError(f"{path}.key", f"expected a dotted property path such as 'encryption.enabled', got {key!r}")
    op = spec.get("op")
    if op not in OPERATORS:
        raise FilterError(f"{path}.op", f"unknown operator {op!r}; expected one of {', '.join(OPERATORS)}")
    if op in UNARY:
        if "value" in spec:
            raise FilterError(f"{path}.value", f"operator '{op}' takes no value")
    elif "value" not in spec:
        raise FilterError(f"{path}.value", f"operator '{op}' needs a value")
    match = spec.get("match", "any")
    if match not in ("any", "all"):
        raise FilterError(f"{path}.match", f"expected 'any' or 'all', got {match!r}")
    test = OPERATORS[op](spec.get("value"), f"{path}.value")
    get = compile_path(key)
    missing_result = op in MISSING_MATCHES
    value = spec.get("value")
    whole = op in WHOLE_VALUE or (op in ("eq", "ne") and isinstance(value, list | dict))
    quantifier = all if match == "all" else any
    needs_context = getattr(test, "needs_context", False)

    if needs_context:

        def apply(v: Any, c: Context) -> bool:
            return test(v, c)
    else:

        def apply(v: Any, c: Context) -> bool:
            return test(v)

    if not key.count(".") and not whole and not needs_context:
        return _fast_leaf(key, op, value, test, missing_result, quantifier)

    def leaf(p: dict, c: Context) -> bool:
        v = get(p)
        if v is _MISSING or v is None:
            return missing_result
        if isinstance(v, _Fan):  # reached through a list: test each item's value
            if not v:
                return op in ("absent", "empty")
            return quantifier(missing_result if x is None else apply(x, c) for x in v)
        if type(v) is list and not whole:
            return bool(v) and quantifier(apply(x, c) for x in v)
        return apply(v, c)

    return leaf


def _fast_leaf(
    key: str, op: str, value: Any, test: Callable[[Any], bool], missing_result: bool, quantifier: Callable
) -> Predicate:
    """The common case kept tight: one top-level key and a scalar test; eq/ne/in inlined (no second call)."""
    members = _hashable_set(value) if op in ("in", "not-in") and isinstance(value, list) else None
    if op == "eq":

        def leaf_eq(p: dict, c: Context) -> bool:
            v = p.get(key)
            if v is None:
                return missing_result
            if type(v) is list:
                return bool(v) and quantifier(x == value for x in v)
            return v == value

        return leaf_eq
    if op == "ne":

        def leaf_ne(p: dict, c: Context) -> bool:
            v = p.get(key)
            if v is None:
                return missing_result
            if type(v) is list:
                return bool(v) and quantifier(x != value for x in v)
            return v != value

        return leaf_ne
    if members is not None and op == "in":

        def leaf_in(p: dict, c: Context) -> bool:
            v = p.get(key)
            if v is None:
                return missing_result
            if type(v) is list:
                return bool(v) and quantifier(test(x) for x in v)
            return v.__hash__ is not None and v in members

        return leaf_in

    def leaf_fast(p: dict, c: Context) -> bool:
        v = p.get(key)
        if v is None:
            return missing_result
        if type(v) is list:
            return bool(v) and quantifier(test(x) for x in v)
        return test(v)

    return leaf_fast


def _compile_quantified(spec: dict, path: str) -> Predicate:
    word = "any" if "any" in spec else "all"
    _only_keys(spec, {word, "filters"}, path)
    key = spec[word]
    if not isinstance(key, str) or not key:
        raise FilterError(f"{path}.{word}", f"expected the dotted path of a list, got {key!r}")
    if "filters" not in spec:
        raise FilterError(f"{path}.filters", f"'{word}' needs the filters each list item is tested with")
    inner = compile_filters(spec["filters"], f"{path}.filters")
    get = compile_path(key)

    def items_of(p: dict) -> list:
        v = get(p)
        if v is _MISSING or v is None:
            return []
        return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []

    if word == "any":
        return lambda p, c: any(inner(item, c) for item in items_of(p))

    def every(p: dict, c: Context) -> bool:
        items = items_of(p)
        return bool(items) and all(inner(item, c) for item in items)

    return every


def _all_of(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda p, c: first(p, c) and second(p, c)
    return lambda p, c: all(predicate(p, c) for predicate in predicates)


def _any_of(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda p, c: first(p, c) or second(p, c)
    return lambda p, c: any(predicate(p, c) for predicate in predicates)

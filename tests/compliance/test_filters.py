"""The filter language: generic operators, paths over lists, boolean forms, errors with paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from compliance.filters import Context, FilterError, compile_filters

CTX = Context(account_id="111122223333", now=datetime(2025, 1, 1, tzinfo=UTC))


def matches(filters, properties, ctx=CTX) -> bool:
    return compile_filters(filters)(properties, ctx)


@pytest.mark.parametrize(
    ("op", "value", "prop", "expected"),
    [
        ("eq", False, False, True),
        ("eq", False, True, False),
        ("ne", "enabled", "disabled", True),
        ("in", ["a", "b"], "a", True),
        ("in", ["a", "b"], "c", False),
        ("not-in", ["a", "b"], "c", True),
        ("contains", "x", ["x", "y"], True),
        ("contains", "admin", "superadmin", True),
        ("contains", "z", ["x"], False),
        ("regex", "^prod-", "prod-db", True),
        ("regex", "^prod-", "dev-db", False),
        ("gt", 5, 6, True),
        ("gte", 5, 5, True),
        ("lt", 7, 3, True),
        ("lte", 7, 8, False),
        ("lt", 7, True, False),  # a boolean is not a number
        ("lt", "1.2", "1.0", True),  # strings compare as strings
        ("cidr-contains", "10.1.2.3", "10.0.0.0/8", True),
        ("cidr-contains", "10.1.2.0/24", "10.0.0.0/8", True),
        ("cidr-contains", "192.168.0.1", "10.0.0.0/8", False),
        ("cidr-contains", "10.1.2.3", "not a cidr", False),
        ("age-older-than", 90, "2024-01-01T00:00:00Z", True),
        ("age-older-than", 90, "2024-12-01T00:00:00Z", False),
        ("age-older-than", 90, "never", False),
    ],
)
def test_operator(op, value, prop, expected):
    assert matches([{"key": "p", "op": op, "value": value}], {"p": prop}) is expected


def test_present_absent_and_empty():
    assert matches([{"key": "p", "op": "present"}], {"p": 0})
    assert not matches([{"key": "p", "op": "present"}], {"p": None})
    assert matches([{"key": "p", "op": "absent"}], {})
    assert matches([{"key": "p", "op": "empty"}], {"p": []})
    assert matches([{"key": "p", "op": "empty"}], {})
    assert not matches([{"key": "p", "op": "empty"}], {"p": ["x"]})


def test_missing_key_matches_only_negative_operators():
    assert not matches([{"key": "p", "op": "eq", "value": False}], {})
    assert matches([{"key": "p", "op": "ne", "value": True}], {})
    assert not matches([{"key": "p", "op": "gt", "value": 1}], {})


def test_dotted_path_reads_nested_mappings():
    assert matches([{"key": "a.b.c", "op": "eq", "value": 1}], {"a": {"b": {"c": 1}}})
    assert not matches([{"key": "a.b.c", "op": "eq", "value": 1}], {"a": {"b": None}})


def test_path_through_a_list_matches_any_item_by_default():
    rules = {"ingress": [{"cidr": "10.0.0.0/8"}, {"cidr": "0.0.0.0/0"}]}
    assert matches([{"key": "ingress.cidr", "op": "eq", "value": "0.0.0.0/0"}], rules)
    assert not matches([{"key": "ingress.cidr", "op": "eq", "value": "0.0.0.0/0", "match": "all"}], rules)
    assert not matches([{"key": "ingress.cidr", "op": "eq", "value": "0.0.0.0/0"}], {"ingress": []})


def test_scalar_operator_on_a_list_property_tests_its_items():
    assert matches([{"key": "nets", "op": "in", "value": ["0.0.0.0/0"]}], {"nets": ["10.0.0.0/8", "0.0.0.0/0"]})
    assert matches([{"key": "nets", "op": "eq", "value": []}], {"nets": []})


def test_any_and_all_test_each_item_with_every_sub_filter():
    keys = {"keys": [{"active": True, "age": 10}, {"active": False, "age": 400}]}
    old_active = {
        "any": "keys",
        "filters": [{"key": "active", "op": "eq", "value": True}, {"key": "age", "op": "gt", "value": 90}],
    }
    assert not matches([old_active], keys)
    keys["keys"][0]["age"] = 100
    assert matches([old_active], keys)
    assert not matches([{"all": "keys", "filters": [{"key": "active", "op": "eq", "value": True}]}], keys)
    assert not matches([{"all": "keys", "filters": [{"key": "active", "op": "eq", "value": True}]}], {"keys": []})


def test_and_or_not():
    spec = [{"or": [{"key": "a", "op": "eq", "value": 1}, {"not": {"key": "b", "op": "present"}}]}]
    assert matches(spec, {"a": 1, "b": 2})
    assert matches(spec, {"a": 0})
    assert not matches(spec, {"a": 0, "b": 2})
    assert matches(
        [{"and": [{"key": "a", "op": "eq", "value": 1}, {"key": "b", "op": "eq", "value": 2}]}], {"a": 1, "b": 2}
    )


def test_filters_compile_into_one_callable_once():
    predicate = compile_filters([{"key": "a", "op": "eq", "value": 1}, {"port-open-to-world": {"ports": [22]}}])
    assert callable(predicate)
    assert predicate(
        {"a": 1, "ingress": [{"cidr": "0.0.0.0/0", "protocol": "tcp", "from_port": 22, "to_port": 22}]}, CTX
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            [
                {"key": "a", "op": "eq", "value": 1},
                {"key": "a", "op": "eq", "value": 1},
                {"key": "a", "op": "equals", "value": 1},
            ],
            "filters[2].op: unknown operator 'equals'; expected one of eq, ne, in,",
        ),
        ([{"key": "a", "op": "eq"}], "filters[0].value: operator 'eq' needs a value"),
        ([{"key": "a", "op": "present", "value": 1}], "filters[0].value: operator 'present' takes no value"),
        ([{"key": "a", "op": "regex", "value": "("}], "filters[0].value: invalid regular expression"),
        ([{"key": "a", "op": "gt", "value": "x"}], None),  # strings are comparable: not an error
        ([{"key": "a", "op": "in", "value": 3}], "filters[0].value: expected a list for 'in'"),
        ([{"key": "a", "op": "cidr-contains", "value": "nope"}], "filters[0].value: expected an IP address or CIDR"),
        ([{"key": "a..b", "op": "present"}], "filters[0].key: expected a dotted property path"),
        ([{"key": "a", "op": "eq", "value": 1, "extra": 2}], "filters[0].extra: unexpected key"),
        ([{"or": [{"key": "a", "op": "bogus"}]}], "filters[0].or[0].op: unknown operator 'bogus'"),
        ([{"not": "x"}], "filters[0].not: expected a mapping"),
        ([{"no-such-filter": {}}], "filters[0]: unknown filter 'no-such-filter'"),
        (
            [{"port-open-to-world": {"ports": [22], "colour": "red"}}],
            "filters[0].port-open-to-world: unknown argument 'colour'",
        ),
        (
            [{"port-open-to-world": {"ports": ["ssh"]}}],
            "filters[0].port-open-to-world.ports[0]: 'ssh' is not of type 'integer'",
        ),
        ([{"credential-unused-for": {}}], "filters[0].credential-unused-for: 'days' is required"),
        ([], "filters: expected at least one filter"),
    ],
)
def test_invalid_filters_are_refused_with_their_path(spec, message):
    if message is None:
        compile_filters(spec)
        return
    with pytest.raises(FilterError) as error:
        compile_filters(spec)
    assert str(error.value).startswith(message), str(error.value)

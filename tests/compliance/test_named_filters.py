"""Every named filter: registered with a strict schema and a docstring example, and behaving as documented."""

from __future__ import annotations

from datetime import UTC, datetime

import jsonschema
import pytest

from compliance.filters import Context, compile_filters
from insightcloud.registry import registry

NOW = datetime(2025, 1, 1, tzinfo=UTC)
CTX = Context(account_id="111122223333", now=NOW)


def check(spec: dict, properties: dict, ctx: Context = CTX) -> bool:
    return compile_filters([spec])(properties, ctx)


def test_every_named_filter_has_a_strict_schema_and_a_docstring_with_an_example():
    names = registry.names("filters")
    assert len(names) >= 8
    for name, named in registry.items("filters"):
        jsonschema.Draft202012Validator.check_schema(named.schema)
        assert named.schema["type"] == "object" and named.schema["additionalProperties"] is False, name
        assert "Example:" in named.description and name in named.description, name


def test_every_named_filter_has_a_test_here():
    tested = {
        "port-open-to-world", "policy-allows-public-principal", "policy-allows-admin", "credential-unused-for",
        "access-key-older-than", "cross-account-access", "older-than", "expires-within",
        "password-policy-weaker-than", "active-access-keys-more-than",
    }  # fmt: skip
    assert set(registry.names("filters")) <= tested


def rule(**fields):
    return {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "0.0.0.0/0", "action": "allow", **fields}


def test_port_open_to_world():
    spec = {"port-open-to-world": {"ports": [22]}}
    assert check(spec, {"ingress": [rule()]})
    assert check(spec, {"ingress": [rule(from_port=0, to_port=1024)]})
    assert check(spec, {"ingress": [rule(protocol="all", from_port=None, to_port=None, cidr="::/0")]})
    assert check(spec, {"ingress": [rule(cidr="Internet")]})
    assert not check(spec, {"ingress": [rule(cidr="10.0.0.0/8")]})
    assert not check(spec, {"ingress": [rule(from_port=80, to_port=80)]})
    assert not check(spec, {"ingress": [rule(protocol="udp")]})
    assert not check(spec, {"ingress": [rule(action="deny")]})
    assert check({"port-open-to-world": {}}, {"ingress": [rule(from_port=8080, to_port=8080)]})


def test_policy_allows_public_principal():
    spec = {"policy-allows-public-principal": {}}
    public = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "s3:GetObject"}]}
    assert check(spec, {"policy": public})
    assert check(spec, {"policy": {"bindings": [{"role": "r", "members": ["allAuthenticatedUsers"]}]}})
    pinned = {"Statement": [{**public["Statement"][0], "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}]}
    assert not check(spec, {"policy": pinned})
    unrelated_condition = {
        "Statement": [{**public["Statement"][0], "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]
    }
    assert check(spec, {"policy": unrelated_condition})
    denied = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*"}]}
    assert not check(spec, {"policy": denied})
    assert check({"policy-allows-public-principal": {"key": "trust_policy"}}, {"trust_policy": public})


def test_policy_allows_admin():
    spec = {"policy-allows-admin": {}}
    assert check(spec, {"document": {"Statement": {"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}}})
    assert check(spec, {"document": {"Statement": [{"Effect": "Allow", "Action": "*:*", "Resource": "*"}]}})
    assert check(spec, {"document": {"permissions": [{"actions": ["*"]}]}})
    assert not check(
        spec, {"document": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"}]}}
    )
    assert not check(spec, {"document": {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}})
    inline = {"inline_policies": [{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}]}
    assert check({"policy-allows-admin": {"key": "inline_policies"}}, inline)


def test_credential_unused_for():
    spec = {"credential-unused-for": {"days": 90}}
    assert check(spec, {"console_access": True, "password_last_used_at": "2024-01-01T00:00:00Z"})
    assert not check(spec, {"console_access": True, "password_last_used_at": "2024-12-01T00:00:00Z"})
    assert not check(spec, {"console_access": False, "password_last_used_at": "2020-01-01T00:00:00Z"})
    assert check(spec, {"console_access": True, "password_last_used_at": None, "created_at": "2020-01-01T00:00:00Z"})
    old_key = {"id": "k", "active": True, "created_at": "2020-01-01T00:00:00Z", "last_used_at": "2024-12-30T00:00:00Z"}
    assert not check(spec, {"access_keys": [old_key]})
    assert check(spec, {"access_keys": [{**old_key, "last_used_at": None}]})
    assert not check(spec, {"access_keys": [{**old_key, "last_used_at": None, "active": False}]})


def test_access_key_older_than():
    spec = {"access-key-older-than": {"days": 90}}
    assert check(spec, {"access_keys": [{"active": True, "created_at": "2024-09-01T00:00:00Z"}]})
    assert not check(spec, {"access_keys": [{"active": True, "created_at": "2024-12-01T00:00:00Z"}]})
    assert check(spec, {"keys": [{"id": "sa-key", "created_at": "2024-01-01T00:00:00Z"}]})


def test_cross_account_access():
    def policy(principal):
        return {"policy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "*"}]}}

    spec = {"cross-account-access": {"allowed": ["222233334444"]}}
    assert check(spec, policy("arn:aws:iam::999988887777:root"))
    assert check(spec, policy("999988887777"))
    assert not check(spec, policy("arn:aws:iam::111122223333:role/own"))
    assert not check(spec, policy("arn:aws:iam::222233334444:root"))
    assert not check(spec, policy("*"))


def test_older_than_and_expires_within():
    assert check({"older-than": {"key": "created_at", "days": 30}}, {"created_at": "2024-11-01T00:00:00Z"})
    assert not check({"older-than": {"key": "created_at", "days": 30}}, {"created_at": None})
    assert check({"expires-within": {"days": 30}}, {"expires_at": "2025-01-15T00:00:00Z"})
    assert check({"expires-within": {"days": 30}}, {"expires_at": "2024-01-15T00:00:00Z"})
    assert not check({"expires-within": {"days": 30}}, {"expires_at": "2025-06-01T00:00:00Z"})


def test_password_policy_weaker_than():
    spec = {"password-policy-weaker-than": {"min_length": 14, "require_symbols": True}}
    assert check(spec, {"password_policy": None})
    assert check(spec, {"password_policy": {"min_length": 8, "require_symbols": True}})
    assert check(spec, {"password_policy": {"min_length": 14, "require_symbols": False}})
    assert not check(spec, {"password_policy": {"min_length": 14, "require_symbols": True}})


def test_active_access_keys_more_than():
    spec = {"active-access-keys-more-than": {"count": 1}}
    assert check(spec, {"access_keys": [{"active": True}, {"active": True}]})
    assert not check(spec, {"access_keys": [{"active": True}, {"active": False}]})


@pytest.mark.parametrize("name", ["older-than", "expires-within", "credential-unused-for", "access-key-older-than"])
def test_time_filters_refuse_negative_days(name):
    from compliance.filters import FilterError

    with pytest.raises(FilterError):
        compile_filters([{name: {"days": -1, **({"key": "created_at"} if name == "older-than" else {})}}])

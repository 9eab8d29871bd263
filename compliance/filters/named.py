"""The built-in named filters (what the key/op/value language cannot say on its own).

Policy documents are read in the shapes the harvesters normalize to: AWS / Alibaba RAM
``{"Statement": [{"Effect", "Principal", "Action", "Resource", "Condition"}]}``, GCP IAM
``{"bindings": [{"role", "members"}]}`` and Azure role definitions
``{"permissions": [{"actions": [...]}]}`` (or ``{"actions": [...]}``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from compliance.filters.core import Context, Predicate, _now, parse_time
from compliance.filters.registry import named_filter

# Sources that mean "anywhere", as AWS, Azure (``*``, ``Internet``, ``Any``), GCP and Alibaba write them.
WORLD_CIDRS = frozenset(
    {"0.0.0.0/0", "::/0", "*", "0.0.0.0", "Internet", "internet", "INTERNET", "Any", "any", "ANY", "<nw>/0", "/0"}
)
ALLOW = frozenset({"allow", "Allow", "ALLOW", None})
PUBLIC_MEMBERS = frozenset({"allusers", "allauthenticatedusers"})
# Conditions on these keys pin a "*" principal to known callers, so the policy is not public.
RESTRICTING_CONDITION_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourcevpce",
        "aws:sourcevpc",
        "aws:sourceip",
        "aws:principalorgid",
        "aws:principalaccount",
        "aws:principalarn",
        "acs:sourcevpc",
        "acs:sourceip",
    }
)
_DAYS = {"type": "integer", "minimum": 0}
_KEY = {"type": "string", "minLength": 1}


def _policy_documents(properties: dict, key: str) -> Iterator[dict]:
    """The documents at ``key``: one dict, or each dict of a list (inline policies)."""
    value = properties.get(key)
    if isinstance(value, dict):
        yield value
    elif isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statements(document: dict) -> Iterator[dict]:
    for statement in _as_list(document.get("Statement") or document.get("statement")):
        if isinstance(statement, dict):
            yield statement


def _allows(statement: dict) -> bool:
    return str(statement.get("Effect", statement.get("effect", ""))).lower() == "allow"


def _principals(statement: dict) -> list[str]:
    principal = statement.get("Principal", statement.get("principal"))
    if isinstance(principal, str):
        return [principal]
    if isinstance(principal, dict):
        found: list[str] = []
        for value in principal.values():
            found.extend(str(item) for item in _as_list(value))
        return found
    return [str(item) for item in _as_list(principal)]


def _condition_restricts(statement: dict) -> bool:
    condition = statement.get("Condition") or statement.get("condition") or {}
    if not isinstance(condition, dict):
        return False
    for operator_block in condition.values():
        if isinstance(operator_block, dict) and any(
            str(k).lower() in RESTRICTING_CONDITION_KEYS for k in operator_block
        ):
            return True
    return False


@named_filter(
    "port-open-to-world",
    schema={
        "properties": {
            "ports": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 65535}},
            "protocols": {"type": "array", "items": {"enum": ["tcp", "udp", "icmp", "icmpv6", "all"]}},
        }
    },
)
def port_open_to_world(ports: list[int] | None = None, protocols: list[str] | None = None) -> Predicate:
    """A security group whose ``ingress`` allows traffic from anywhere (0.0.0.0/0, ::/0, ``*``, Internet).

    With ``ports``, only rules whose port range covers one of them count; without, any rule does.
    ``protocols`` (default tcp and all) limits the rule protocols considered.

    Example: ``{port-open-to-world: {ports: [22, 3389]}}``
    """
    wanted_protocols = frozenset(protocols or ["tcp", "all"]) | {"all", None}
    wanted_ports = tuple(ports or ())

    def predicate(properties: dict, context: Context) -> bool:
        # Plain loops, cheapest test first: this filter runs on every rule of every security group.
        for rule in properties.get("ingress") or ():
            cidr = rule.get("cidr")
            if cidr not in WORLD_CIDRS or rule.get("action", "allow") not in ALLOW:
                continue
            if rule.get("protocol") not in wanted_protocols:
                continue
            if not wanted_ports:
                return True
            low, high = rule.get("from_port"), rule.get("to_port")
            low = 0 if low is None else low
            high = 65535 if high is None else high
            for port in wanted_ports:
                if low <= port <= high:
                    return True
        return False

    return predicate


@named_filter("policy-allows-public-principal", schema={"properties": {"key": _KEY}})
def policy_allows_public_principal(key: str = "policy") -> Predicate:
    """A resource policy that lets anyone in: an Allow statement for principal ``*`` without a condition
    pinning the caller (source account, ARN, VPC, organization …), or a binding to allUsers /
    allAuthenticatedUsers. ``key`` names the property holding the document (default ``policy``).

    Example: ``{policy-allows-public-principal: {}}`` or ``{policy-allows-public-principal: {key: trust_policy}}``
    """

    def document_is_public(document: dict) -> bool:
        for statement in _statements(document):
            if _allows(statement) and "*" in _principals(statement) and not _condition_restricts(statement):
                return True
        for binding in _as_list(document.get("bindings")):
            members = {str(m).lower() for m in _as_list(binding.get("members") if isinstance(binding, dict) else [])}
            if members & PUBLIC_MEMBERS:
                return True
        return False

    def predicate(properties: dict, context: Context) -> bool:
        return any(document_is_public(document) for document in _policy_documents(properties, key))

    return predicate


@named_filter("policy-allows-admin", schema={"properties": {"key": _KEY}})
def policy_allows_admin(key: str = "document") -> Predicate:
    """A permission policy granting every action on every resource: Allow ``Action: "*"`` (or ``*:*``)
    on ``Resource: "*"``, or an Azure role definition with ``actions: ["*"]``. ``key`` names the
    property holding the document or list of documents (default ``document``; ``inline_policies``
    for users and roles).

    Example: ``{policy-allows-admin: {key: inline_policies}}``
    """

    def document_is_admin(document: dict) -> bool:
        for statement in _statements(document):
            actions = {str(a) for a in _as_list(statement.get("Action", statement.get("action")))}
            resources = {str(r) for r in _as_list(statement.get("Resource", statement.get("resource")))}
            if _allows(statement) and actions & {"*", "*:*"} and "*" in resources:
                return True
        permissions = _as_list(document.get("permissions")) or [document]
        for permission in permissions:
            if isinstance(permission, dict) and "*" in _as_list(permission.get("actions")):
                return True
        return False

    def predicate(properties: dict, context: Context) -> bool:
        return any(document_is_admin(document) for document in _policy_documents(properties, key))

    return predicate


@named_filter("credential-unused-for", schema={"properties": {"days": _DAYS}, "required": ["days"]})
def credential_unused_for(days: int) -> Predicate:
    """A user with a credential it has not used for ``days``: a console password last used (or, never
    used, the user created) before then, or an active access key last used (or, never used, created)
    before then. Uses ``console_access``, ``password_last_used_at``, ``created_at`` and ``access_keys``.

    Example: ``{credential-unused-for: {days: 45}}``
    """
    delta = timedelta(days=days)

    def stale(last_used: Any, created: Any, cutoff: Any) -> bool:
        when = parse_time(last_used) or parse_time(created)
        return when is not None and when < cutoff

    def predicate(properties: dict, context: Context) -> bool:
        cutoff = _now(context) - delta
        if properties.get("console_access") and stale(
            properties.get("password_last_used_at"), properties.get("created_at"), cutoff
        ):
            return True
        for access_key in properties.get("access_keys") or ():
            if (
                isinstance(access_key, dict)
                and access_key.get("active", True)
                and stale(access_key.get("last_used_at"), access_key.get("created_at"), cutoff)
            ):
                return True
        return False

    return predicate


@named_filter("access-key-older-than", schema={"properties": {"days": _DAYS}, "required": ["days"]})
def access_key_older_than(days: int) -> Predicate:
    """An active access key (``access_keys``) or user-managed key (``keys``) created more than ``days``
    ago: a key that has not been rotated.

    Example: ``{access-key-older-than: {days: 90}}``
    """
    delta = timedelta(days=days)

    def predicate(properties: dict, context: Context) -> bool:
        cutoff = _now(context) - delta
        for key in list(properties.get("access_keys") or ()) + list(properties.get("keys") or ()):
            if isinstance(key, dict) and key.get("active", True):
                created = parse_time(key.get("created_at"))
                if created is not None and created < cutoff:
                    return True
        return False

    return predicate


_ACCOUNT_IN_ARN = re.compile(r"^arn:[^:]+:[^:]*:[^:]*:(\d{12}):")


def _account_of(principal: str) -> str | None:
    if re.fullmatch(r"\d{12}", principal):
        return principal
    match = _ACCOUNT_IN_ARN.match(principal)
    return match.group(1) if match else None


@named_filter(
    "cross-account-access",
    schema={"properties": {"allowed": {"type": "array", "items": {"type": "string"}}, "key": _KEY}},
)
def cross_account_access(allowed: list[str] | None = None, key: str = "policy") -> Predicate:
    """A resource or trust policy that allows principals of another account than the resource's own
    and not in ``allowed`` (account ids). ``*`` principals are left to policy-allows-public-principal.

    Example: ``{cross-account-access: {allowed: ["123456789012"], key: trust_policy}}``
    """
    trusted = frozenset(allowed or ())

    def predicate(properties: dict, context: Context) -> bool:
        for document in _policy_documents(properties, key):
            for statement in _statements(document):
                if not _allows(statement):
                    continue
                for principal in _principals(statement):
                    account = _account_of(principal)
                    if account and account != context.account_id and account not in trusted:
                        return True
        return False

    return predicate


@named_filter("older-than", schema={"properties": {"key": _KEY, "days": _DAYS}, "required": ["key", "days"]})
def older_than(key: str, days: int) -> Predicate:
    """A resource whose timestamp property ``key`` is more than ``days`` old (missing: not older).

    Example: ``{older-than: {key: created_at, days: 365}}``
    """
    delta = timedelta(days=days)

    def predicate(properties: dict, context: Context) -> bool:
        when = parse_time(properties.get(key))
        return when is not None and when < _now(context) - delta

    return predicate


@named_filter("expires-within", schema={"properties": {"key": _KEY, "days": _DAYS}, "required": ["days"]})
def expires_within(days: int, key: str = "expires_at") -> Predicate:
    """A certificate, key or secret that expires within ``days`` (or has already expired).

    Example: ``{expires-within: {days: 30}}``
    """
    delta = timedelta(days=days)

    def predicate(properties: dict, context: Context) -> bool:
        when = parse_time(properties.get(key))
        return when is not None and when < _now(context) + delta

    return predicate


@named_filter(
    "password-policy-weaker-than",
    schema={
        "properties": {
            "min_length": {"type": "integer", "minimum": 1},
            "max_age_days": {"type": "integer", "minimum": 1},
            "reuse_prevention": {"type": "integer", "minimum": 1},
            "require_symbols": {"type": "boolean"},
            "require_numbers": {"type": "boolean"},
            "require_uppercase": {"type": "boolean"},
            "require_lowercase": {"type": "boolean"},
        }
    },
)
def password_policy_weaker_than(
    min_length: int | None = None,
    max_age_days: int | None = None,
    reuse_prevention: int | None = None,
    **required_classes: bool,
) -> Predicate:
    """An account whose ``password_policy`` is missing or weaker than each given requirement: shorter
    minimum length, longer (or no) maximum age, less reuse prevention, or a character class not required.

    Example: ``{password-policy-weaker-than: {min_length: 14, reuse_prevention: 24}}``
    """
    classes = [name for name, wanted in required_classes.items() if wanted]

    def predicate(properties: dict, context: Context) -> bool:
        policy = properties.get("password_policy")
        if not isinstance(policy, dict):
            return True
        if min_length is not None and (policy.get("min_length") or 0) < min_length:
            return True
        if max_age_days is not None and not (0 < (policy.get("max_age_days") or 0) <= max_age_days):
            return True
        if reuse_prevention is not None and (policy.get("reuse_prevention") or 0) < reuse_prevention:
            return True
        return any(not policy.get(name) for name in classes)

    return predicate


@named_filter(
    "active-access-keys-more-than",
    schema={"properties": {"count": {"type": "integer", "minimum": 0}}, "required": ["count"]},
)
def active_access_keys_more_than(count: int) -> Predicate:
    """A user with more than ``count`` active access keys (``access_keys[].active``).

    Example: ``{active-access-keys-more-than: {count: 1}}``
    """

    def predicate(properties: dict, context: Context) -> bool:
        keys = properties.get("access_keys") or ()
        return sum(1 for key in keys if isinstance(key, dict) and key.get("active", True)) > count

    return predicate

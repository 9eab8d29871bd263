"""Small helpers the AWS service collectors share: JSON-safe raw records, tags, policies, optional calls.

Collectors list resources with paginators and then enrich each one with "sub-calls" (a bucket's
policy, a key's rotation status …). A sub-call that says "there is none" (``NoSuchBucketPolicy``)
is an answer; one that fails for another lasting reason (a permission we lack, an API an
AWS-compatible endpoint does not implement) leaves that property ``None`` instead of failing the
whole listing. Transient failures (throttling, 5xx after botocore's retries) still propagate:
filling ``None`` there would record a false change, and a failed listing deletes nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: A sub-call result we could not obtain (permission, unsupported API): the property becomes None.
UNAVAILABLE = object()


def iso(value: Any) -> str | None:
    """A datetime (or an ISO string) as an ISO-8601 string in UTC; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def json_safe(value: Any) -> Any:
    """A copy of a boto3 response that json.dumps accepts (datetimes as ISO strings, no ResponseMetadata)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return iso(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if hasattr(value, "read"):  # a streaming body never belongs in raw
        return None
    return value


def tags_from_list(items: Iterable[dict] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    """AWS's ``[{"Key": k, "Value": v}]`` as a flat ``{k: v}``."""
    return {str(item[key]): str(item.get(value) or "") for item in items or () if key in item}


def parse_policy(document: Any) -> dict | None:
    """A policy document (JSON string, URL-decoded by botocore, or a dict) as a dict; None when empty."""
    if document in (None, "", {}):
        return None
    if isinstance(document, dict):
        return document
    try:
        parsed = json.loads(document)
    except (TypeError, ValueError):
        from urllib.parse import unquote

        try:
            parsed = json.loads(unquote(document))
        except (TypeError, ValueError):
            return {"unparsed": str(document)}
    return parsed if isinstance(parsed, dict) else {"unparsed": str(document)}


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# Condition keys that pin a "*" principal to specific callers, so the statement is not public.
_RESTRICTING_CONDITION_KEYS = {
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceip",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourceorgid",
    "aws:principalorgpaths",
    "aws:userid",
    "aws:username",
    "kms:calleraccount",
    "kms:viaservice",
    "lambda:functionurlauthtype",
}


def _principal_is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any(value == "*" or "*" in _as_list(value) for key, value in principal.items() if key == "AWS")
    return False


def _condition_restricts(condition: Any) -> bool:
    if not isinstance(condition, dict):
        return False
    for operator_block in condition.values():
        if isinstance(operator_block, dict) and any(k.lower() in _RESTRICTING_CONDITION_KEYS for k in operator_block):
            return True
    return False


def public_statements(policy: dict | None) -> list[str]:
    """The actions a resource policy allows to anyone ("*" principal without a restricting condition)."""
    reasons: list[str] = []
    if not policy:
        return reasons
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if "NotPrincipal" in statement:
            reasons.append("policy allows everyone except a NotPrincipal")
            continue
        if not _principal_is_everyone(statement.get("Principal")):
            continue
        if _condition_restricts(statement.get("Condition")):
            continue
        actions = ", ".join(str(a) for a in _as_list(statement.get("Action") or statement.get("NotAction")))
        reasons.append(f"policy allows {actions or 'actions'} to everyone")
    return reasons


#: Answers of endpoints that lack an API (AWS-compatible clouds, emulators): the sub-call is unavailable.
_NOT_IMPLEMENTED_CODES = {"NotImplemented", "NotImplementedError", "InvalidAction", "UnknownOperationException"}


def optional(
    call: Callable[[], T],
    *,
    absent: Iterable[str] = (),
    what: str = "",
    status_absent: Iterable[int] = (404,),
) -> T | None | object:
    """Run a sub-call. ``None`` when AWS says there is no such thing (an error code in ``absent`` or a 404),
    :data:`UNAVAILABLE` when it refused for a lasting reason; transient errors propagate."""
    import botocore.exceptions  # lazily: importing collectors to register them must not load the SDK

    from harvesters.aws.session import error_code, is_transient

    try:
        return call()
    except botocore.exceptions.ClientError as exc:
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _NOT_IMPLEMENTED_CODES or status == 501:  # a 5xx, but retrying will not help
            logger.info("%s not implemented by this endpoint: %s", what or "sub-call", code or status)
            return UNAVAILABLE
        if is_transient(exc):
            raise
        if code in set(absent) or (not code and status in set(status_absent)):
            return None
        logger.info("%s unavailable: %s %s", what or "sub-call", code, status)
        return UNAVAILABLE
    except botocore.exceptions.BotoCoreError as exc:
        if is_transient(exc):
            raise
        logger.info("%s unavailable: %s", what or "sub-call", exc)
        return UNAVAILABLE


def known(value: Any, default: Any = None) -> Any:
    """``default`` where a sub-call was unavailable, the value otherwise."""
    return default if value is UNAVAILABLE else value


#: Where each partition's global services (IAM, Route 53, S3 listing) answer.
_GLOBAL_SERVICE_REGIONS = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-north-1"}


def global_region(ctx: Any) -> str:
    """The region to call global services in, for the context's partition (us-east-1 on commercial AWS)."""
    return _GLOBAL_SERVICE_REGIONS.get(getattr(ctx, "partition", "aws") or "aws", "us-east-1")

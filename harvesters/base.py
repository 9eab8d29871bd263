"""What every harvester shares: resource-type metadata, the cloud driver protocol, errors, backoff.

A resource type is metadata plus one ``collect`` function (Cloud Custodian's lesson: most of a
harvester is configuration). It is registered under its native type::

    @resource_type("aws.ec2.instance", resource_type="instance", service="ec2",
                   permissions=("ec2:DescribeInstances",))
    def collect_instances(ctx, region):
        '''EC2 instances with their network placement, IAM profile and IMDS settings.'''
        for page in ctx.client("ec2", region).get_paginator("describe_instances").paginate():
            ...
            yield ResourceRecord(...)

``ctx`` is the cloud's own :class:`HarvestContext` (an authenticated session with endpoint,
proxy and retry settings); ``region`` is a region name, or ``GLOBAL`` for global services.
A collect function yields records page by page (memory bounded by the page, not the estate)
and raises a :class:`HarvestError` subclass when the listing cannot complete; the sync step
then keeps every resource it already had (deletion is only concluded from a complete listing).

Cloud SDKs are imported inside the per-cloud modules, never here, so the interface server does
not load them.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from insightcloud.registry import registry

logger = logging.getLogger(__name__)

GLOBAL = "global"  # region of resources that have none (IAM users, S3 account settings …)

T = TypeVar("T")


@dataclass
class ResourceRecord:
    """One resource as a harvester saw it, before sync compares it with the inventory."""

    resource_type: str  # normalized, a key of harvesters.normalized.TYPES
    native_type: str  # e.g. aws.ec2.instance
    region: str
    native_id: str  # ARN or the cloud's id; unique within (cloud, native_type, region)
    name: str
    properties: dict[str, Any]  # normalized properties (harvesters/normalized.py)
    raw: dict[str, Any] = field(default_factory=dict)  # the cloud's own record, JSON-safe
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceTypeSpec:
    native_type: str
    provider: str
    resource_type: str
    service: str
    scope: str  # "regional" or "global"
    collect: Callable[[Any, str], Iterable[ResourceRecord]]
    permissions: tuple[str, ...]
    interval_minutes: int
    description: str


def resource_type(
    native_type: str,
    *,
    resource_type: str,
    service: str,
    scope: str = "regional",
    permissions: tuple[str, ...] = (),
    interval_minutes: int = 15,
) -> Callable[[Callable], Callable]:
    """Register a collect function for ``native_type`` (``<provider>.<service>.<kind>``)."""
    from harvesters.normalized import TYPES

    if resource_type not in TYPES:
        raise ValueError(f"{native_type}: unknown normalized type {resource_type!r}")
    if scope not in ("regional", "global"):
        raise ValueError(f"{native_type}: scope must be regional or global")
    provider = native_type.split(".", 1)[0]

    def wrap(collect: Callable) -> Callable:
        spec = ResourceTypeSpec(
            native_type=native_type,
            provider=provider,
            resource_type=resource_type,
            service=service,
            scope=scope,
            collect=collect,
            permissions=tuple(permissions),
            interval_minutes=interval_minutes,
            description=(collect.__doc__ or "").strip(),
        )
        registry.register("resource_types", native_type, spec)
        return collect

    return wrap


def resource_types_for(provider: str, native_types: Iterable[str] | None = None) -> list[ResourceTypeSpec]:
    """The registered types of a provider, optionally only those named (by native or normalized type)."""
    specs = [spec for _, spec in registry.items("resource_types") if spec.provider == provider]
    if native_types:
        wanted = set(native_types)
        specs = [s for s in specs if s.native_type in wanted or s.resource_type in wanted]
    return specs


# --- cloud drivers ---------------------------------------------------------------------


class HarvestContext(Protocol):
    """An authenticated session on one cloud account, made by its driver."""

    account_id: str


class CloudDriver(Protocol):
    """Registered under the provider name in the "clouds" registry, one per cloud."""

    provider: str

    def connect(self, cloud: Any) -> HarvestContext:
        """Authenticate with the cloud's stored settings; raise InvalidCredentials / AssumeRoleFailed."""

    def regions(self, ctx: HarvestContext) -> list[str]:
        """Regions enabled for the account."""


def cloud_driver(provider: str) -> Callable[[type], type]:
    def wrap(cls: type) -> type:
        registry.register("clouds", provider, cls())
        return cls

    return wrap


def get_driver(provider: str) -> CloudDriver:
    return registry.get("clouds", provider)


# --- errors -----------------------------------------------------------------------------


class HarvestError(Exception):
    """A listing could not complete. ``transient`` errors are worth retrying later."""

    transient = False


class TransientError(HarvestError):
    """Throttling, timeouts, connection resets, 5xx after our own retries."""

    transient = True


class InvalidCredentials(HarvestError):
    """The cloud refused the credentials: the account's harvests pause until they are fixed."""


class AssumeRoleFailed(HarvestError):
    """The base credentials work but the role cannot be assumed."""


class PermissionDenied(HarvestError):
    """The credentials lack a permission this listing needs (recorded, the rest goes on)."""


# --- retry with backoff -----------------------------------------------------------------


def with_backoff(
    call: Callable[[], T],
    *,
    is_transient: Callable[[Exception], bool],
    attempts: int = 5,
    base_delay: float = 0.5,
    max_delay: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``call`` until it succeeds, retrying transient failures with full-jitter backoff."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            delay = random.uniform(0, min(max_delay, base_delay * 2 ** (attempt - 1)))
            logger.info("transient error (%s), retry %d/%d in %.2fs", exc, attempt, attempts - 1, delay)
            sleep(delay)
    raise AssertionError("unreachable")


def paged(fetch_page: Callable[[str | None], tuple[list[T], str | None]]) -> Iterator[T]:
    """Yield items from a ``token -> (items, next_token)`` API until the token runs out."""
    token: str | None = None
    while True:
        items, token = fetch_page(token)
        yield from items
        if not token:
            return

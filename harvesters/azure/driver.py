"""The Azure cloud driver: a subscription's context from its CloudAccount, its regions, its errors."""

from __future__ import annotations

from typing import Any

from harvesters.azure.common import location
from harvesters.azure.session import (
    AzureContext,
    AzureSettings,
    classify,
    describe,
    is_transient,
    items,
    make_credential,
    status_code,
    wire,
)
from harvesters.base import HarvestError, InvalidCredentials, cloud_driver


def connect_subscription(
    auth_type: str, auth_settings: dict, credentials: dict, subscription_id: str, regions: list[str] | None = None
) -> AzureContext:
    """Authenticate and check that the principal sees ``subscription_id``; raise InvalidCredentials if not."""
    settings = AzureSettings.from_auth_settings(auth_settings)
    credential = make_credential(settings, auth_type, credentials)
    ctx = AzureContext(
        settings=settings,
        credential=credential,
        account_id=subscription_id,
        tenant_id=settings.tenant_id,
        regions_wanted=list(regions or []),
    )
    try:
        subscription = ctx.client("subscriptions").subscriptions.get(subscription_id)
    except Exception as exc:
        raise _connect_error(exc, subscription_id) from None
    state = str(wire(subscription).get("state") or "")
    if state and state.lower() not in ("enabled", "pastdue", "warned"):
        raise InvalidCredentials(f"Azure subscription {subscription_id} is {state}")
    return ctx


def _connect_error(exc: Exception, subscription_id: str) -> HarvestError:
    if status_code(exc) == 404:
        return InvalidCredentials(f"Azure subscription {subscription_id} is not visible to the service principal")
    error = classify(exc)
    if type(error) is HarvestError:  # an unexpected refusal at sign-in is a credential problem
        return InvalidCredentials(f"Azure refused the credentials: {describe(exc)}")
    if isinstance(error, InvalidCredentials):
        return InvalidCredentials(f"Azure refused the credentials: {describe(exc)}")
    return error


@cloud_driver("azure")
class AzureDriver:
    """Service-principal access (client secret or certificate) to one Azure subscription."""

    provider = "azure"

    def connect(self, cloud: Any) -> AzureContext:
        return connect_subscription(
            cloud.auth_type, cloud.auth_settings or {}, cloud.credentials or {}, cloud.account_id, cloud.regions
        )

    def regions(self, ctx: AzureContext) -> list[str]:
        """The configured regions, else every location where the subscription has a resource."""
        if ctx.regions_wanted:
            return sorted({r.replace(" ", "").lower() for r in ctx.regions_wanted})
        client = ctx.client("resource")
        found: set[str] = set()
        for body in items(client.resource_groups.list()):
            found.add(location(body))
        for body in items(client.resources.list()):
            found.add(location(body))
        found.discard("")
        found.discard("global")
        return sorted(found)

    def is_transient(self, exc: BaseException) -> bool:
        return is_transient(exc)

    def classify(self, exc: BaseException) -> HarvestError:
        return classify(exc)

"""Fixtures for the Azure tests: the ARM/Entra fake over TLS and a context connected to it."""

from __future__ import annotations

import pytest

from tests.fakes.azure_fake import CLIENT_ID, CLIENT_SECRET, SUB_PROD, TENANT_ID, AzureFake


@pytest.fixture
def azure_fake():
    fake = AzureFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def auth_settings(azure_fake) -> dict:
    return {
        "tenant_id": TENANT_ID,
        "client_id": CLIENT_ID,
        "authority_host": azure_fake.authority,
        "arm_endpoint": azure_fake.arm_endpoint,
        "ca_bundle": azure_fake.ca_file,
        "retry_total": 2,
        "retry_backoff_factor": 0.01,
    }


@pytest.fixture
def azure_ctx(azure_fake, auth_settings):
    from harvesters.azure.driver import connect_subscription

    return connect_subscription("client_secret", auth_settings, {"client_secret": CLIENT_SECRET}, SUB_PROD)


def collect(ctx, native_type: str, region: str) -> dict:
    """Run one registered collector directly; records by name."""
    from harvesters.base import resource_types_for

    spec = next(s for s in resource_types_for("azure") if s.native_type == native_type)
    return {r.name: r for r in spec.collect(ctx, region)}

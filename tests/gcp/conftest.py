"""GCP test fixtures: the HTTP fake, a service-account key it accepts, a connected context."""

from __future__ import annotations

import pytest

from harvesters.gcp import session
from tests.fakes.gcp_fake import GcpFake


@pytest.fixture
def gcp_fake():
    fake = GcpFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def gcp_key(gcp_fake):
    return gcp_fake.service_account_key()


@pytest.fixture
def no_proxy_env(monkeypatch):
    """Tests talk to 127.0.0.1 directly unless they set a proxy themselves."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


class RecordingSleep:
    """Stands in for time.sleep in backoff: records the delays, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def recording_sleep():
    return RecordingSleep()


@pytest.fixture
def gcp_ctx(gcp_fake, gcp_key, no_proxy_env, recording_sleep):
    """A context on acme-prod through the real driver code, with instant backoff."""
    return session.connect(
        "acme-prod",
        {"endpoint": gcp_fake.url},
        {"service_account_key": gcp_key},
        sleep=recording_sleep,
    )

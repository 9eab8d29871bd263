"""Fixtures for the Alibaba Cloud tests: the fake (RPC + OSS) and a context connected to it."""

from __future__ import annotations

import pytest

from tests.fakes.alibaba_fake import GOOD_KEY_ID, GOOD_KEY_SECRET, AlibabaFake

PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
)


@pytest.fixture
def no_proxy_env(monkeypatch):
    """The machine's proxy settings must not decide where the tests' requests go."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def alibaba_fake(no_proxy_env):
    fake = AlibabaFake().start()
    yield fake
    fake.stop()


def fake_settings(fake: AlibabaFake, **extra) -> dict:
    """auth_settings pointing every product at the fake, with fast retries."""
    return {"endpoint_url": fake.url, "protocol": "http", "retry_base_delay": 0.001, **extra}


GOOD_CREDENTIALS = {"access_key_id": GOOD_KEY_ID, "access_key_secret": GOOD_KEY_SECRET}


@pytest.fixture
def alibaba_ctx(alibaba_fake):
    from harvesters.alibaba.driver import connect

    return connect("access_key", fake_settings(alibaba_fake), GOOD_CREDENTIALS)

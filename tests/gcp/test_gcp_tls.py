"""HTTPS endpoints: a private CA through ca_bundle, https_proxy tunnelling, untrusted certificates refused."""

from __future__ import annotations

import pytest

from harvesters.base import GLOBAL, HarvestError, InvalidCredentials
from harvesters.gcp import compute, session
from tests.fakes.gcp_fake import GcpFake
from tests.gcp.forward_proxy import RecordingProxy


@pytest.fixture
def tls_fake(tmp_path):
    fake = GcpFake(tls_dir=str(tmp_path)).start()
    yield fake
    fake.stop()


def test_https_endpoints_work_with_their_ca_bundle(tls_fake, no_proxy_env):
    key = tls_fake.service_account_key()
    assert key["token_uri"].startswith("https://")
    ctx = session.connect(
        "acme-prod", {"endpoint": tls_fake.url, "ca_bundle": tls_fake.ca_file}, {"service_account_key": key}
    )
    assert len(list(compute.collect_firewalls(ctx, GLOBAL))) == 6


def test_an_untrusted_certificate_is_an_error_but_not_bad_credentials(tls_fake, no_proxy_env, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    key = tls_fake.service_account_key()
    with pytest.raises(HarvestError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed") as caught:
        session.connect("acme-prod", {"endpoint": tls_fake.url}, {"service_account_key": key})
    assert not isinstance(caught.value, InvalidCredentials)
    assert not caught.value.transient


def test_https_proxy_tunnels_the_tls_connections(tls_fake, no_proxy_env, monkeypatch):
    proxy = RecordingProxy().start()
    try:
        monkeypatch.setenv("https_proxy", proxy.url)
        key = tls_fake.service_account_key()
        settings = {"endpoint": tls_fake.url, "ca_bundle": tls_fake.ca_file}
        ctx = session.connect("acme-prod", settings, {"service_account_key": key})
        assert len(list(compute.collect_firewalls(ctx, GLOBAL))) == 6
        authority = tls_fake.url.split("//", 1)[1].rstrip("/")
        assert proxy.seen and set(proxy.seen) == {("CONNECT", authority)}
    finally:
        proxy.stop()

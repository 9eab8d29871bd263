"""googleapiclient (httplib2) honours http_proxy/https_proxy and no_proxy: token and API calls alike."""

from __future__ import annotations

import pytest

from harvesters.base import GLOBAL
from harvesters.gcp import compute, session
from tests.gcp.forward_proxy import RecordingProxy


@pytest.fixture
def proxy():
    server = RecordingProxy().start()
    yield server
    server.stop()


def test_token_and_api_calls_go_through_the_proxy(gcp_fake, gcp_key, proxy, no_proxy_env, monkeypatch):
    monkeypatch.setenv("http_proxy", proxy.url)
    ctx = session.connect("acme-prod", {"endpoint": gcp_fake.url}, {"service_account_key": gcp_key})
    assert len(list(compute.collect_firewalls(ctx, GLOBAL))) == 6
    fake_authority = gcp_fake.url.split("//", 1)[1].rstrip("/")
    assert proxy.seen, "nothing went through the proxy"
    assert {target for _, target in proxy.seen} == {fake_authority}
    assert gcp_fake.count("/global/firewalls") == 3


def test_no_proxy_hosts_bypass_the_proxy(gcp_fake, gcp_key, proxy, no_proxy_env, monkeypatch):
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    ctx = session.connect("acme-prod", {"endpoint": gcp_fake.url}, {"service_account_key": gcp_key})
    assert len(list(compute.collect_firewalls(ctx, GLOBAL))) == 6
    assert proxy.seen == []


def test_no_proxy_matches_like_the_standard_library(monkeypatch):
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")
    monkeypatch.setenv("no_proxy", ".corp.example,metadata.google.internal")
    info = session.proxy_info("https")
    assert (info.proxy_host, info.proxy_port) == ("proxy.internal", 3128)
    assert info.applies_to("compute.googleapis.com")
    assert not info.applies_to("api.corp.example")
    assert not info.applies_to("metadata.google.internal")
    monkeypatch.setenv("no_proxy", "*")
    assert not session.proxy_info("https").applies_to("compute.googleapis.com")


def test_without_proxy_variables_calls_go_direct(no_proxy_env):
    assert session.proxy_info("http") is None and session.proxy_info("https") is None

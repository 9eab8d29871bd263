"""The helpers other clouds call: requests (Azure SDK, Alibaba) and httplib2 (googleapiclient) through the proxy."""

from __future__ import annotations

import pytest
import requests

from harvesters.proxy import httplib2_proxy_info, requests_proxies

PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def clean_proxy_environment(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_requests_tunnels_through_the_proxy_with_credentials(https_target, authenticating_proxy, monkeypatch):
    url, ca_file = https_target
    monkeypatch.setenv("https_proxy", authenticating_proxy.url_with_credentials)
    response = requests.head(url, proxies=requests_proxies(url), verify=ca_file, timeout=5)
    assert response.status_code == 200
    assert [(r.method, r.user, r.status) for r in authenticating_proxy.requests] == [("CONNECT", "scanner", 200)]


def test_requests_goes_direct_for_a_no_proxy_cidr_even_though_requests_alone_would_not(
    https_target, forward_proxy, monkeypatch
):
    url, ca_file = https_target
    monkeypatch.setenv("https_proxy", forward_proxy.url)
    monkeypatch.setenv("no_proxy", "10.0.0.0/8,127.0.0.0/8")
    assert requests_proxies(url) == {"http": None, "https": None}
    response = requests.head(url, proxies=requests_proxies(url), verify=ca_file, timeout=5)
    assert response.status_code == 200
    assert forward_proxy.requests == []


def test_httplib2_tunnels_through_the_proxy_with_credentials(https_target, authenticating_proxy, monkeypatch):
    import httplib2

    url, ca_file = https_target
    monkeypatch.setenv("https_proxy", authenticating_proxy.url_with_credentials)
    info = httplib2_proxy_info(url)
    assert (info.proxy_host, info.proxy_port, info.proxy_user, info.proxy_pass) == (
        "127.0.0.1",
        authenticating_proxy.port,
        "scanner",
        "p@ss:word",
    )
    http = httplib2.Http(proxy_info=info, ca_certs=ca_file, timeout=5)
    response, _ = http.request(url, "HEAD")
    assert response.status == 200
    assert [(r.method, r.user) for r in authenticating_proxy.requests] == [("CONNECT", "scanner")]


def test_httplib2_goes_direct_when_no_proxy_applies(https_target, monkeypatch):
    url, _ = https_target
    monkeypatch.setenv("https_proxy", "http://proxy.acmecorp.com:3128")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert httplib2_proxy_info(url) is None

"""proxy_for: which URLs go through http_proxy/https_proxy and which bypass them (no_proxy)."""

from __future__ import annotations

import pytest

from harvesters.proxy import describe_proxy_error, proxy_for, redact, split_proxy

PROXY = "http://proxy.acmecorp.com:3128"


def env(no_proxy: str = "", **extra: str) -> dict[str, str]:
    return {"https_proxy": PROXY, "http_proxy": "http://plain-proxy:3128", "no_proxy": no_proxy, **extra}


def test_https_urls_use_https_proxy_and_http_urls_use_http_proxy():
    assert proxy_for("https://sts.amazonaws.com/", env()) == PROXY
    assert proxy_for("http://169.254.169.254/latest/meta-data/", env()) == "http://plain-proxy:3128"


def test_without_proxy_variables_everything_is_direct():
    assert proxy_for("https://management.azure.com/", {}) is None


def test_upper_case_variables_are_honoured_and_lower_case_wins():
    assert proxy_for("https://x.example/", {"HTTPS_PROXY": "http://upper:1"}) == "http://upper:1"
    assert proxy_for("https://x.example/", {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:2"}) == (
        "http://lower:2"
    )
    assert proxy_for("https://db/", {"https_proxy": PROXY, "NO_PROXY": "db"}) is None


@pytest.mark.parametrize(
    ("url", "no_proxy"),
    [
        ("https://mysql:3306/", "mysql,redis,169.254.169.254"),
        ("http://169.254.169.254/latest/", "mysql,redis,169.254.169.254"),
        ("https://api.internal.acmecorp.com/", ".acmecorp.com"),
        ("https://acmecorp.com/", ".acmecorp.com"),
        ("https://api.acmecorp.com/", "acmecorp.com"),
        ("https://10.1.2.3/", "10.0.0.0/8"),
        ("https://[fd00::5]/", "fd00::/8"),
        ("https://127.0.0.1:8443/", "127.0.0.1:8443"),
        ("https://anything.example/", "*"),
        ("https://ECS.AliyunCS.com/", "ecs.aliyuncs.com"),
        ("https://localhost/", "localhost,127.0.0.0,127.0.1.1"),
        ("https://127.0.1.1/", "localhost, 127.0.0.0, 127.0.1.1"),
    ],
)
def test_hosts_listed_in_no_proxy_are_reached_directly(url, no_proxy):
    assert proxy_for(url, env(no_proxy)) is None


@pytest.mark.parametrize(
    ("url", "no_proxy"),
    [
        ("https://sts.amazonaws.com/", "mysql,redis,169.254.169.254"),
        ("https://notacmecorp.com/", ".acmecorp.com"),
        ("https://11.1.2.3/", "10.0.0.0/8"),
        ("https://127.0.0.1:443/", "127.0.0.1:8443"),
        ("https://10.1.2.3/", "10.1.2"),
        ("https://management.azure.com/", ""),
    ],
)
def test_other_hosts_go_through_the_proxy(url, no_proxy):
    assert proxy_for(url, env(no_proxy)) == PROXY


def test_credentials_in_the_proxy_url_are_split_and_unquoted():
    parts = split_proxy("http://scanner:p%40ss%3Aword@proxy.acmecorp.com:3128")
    assert (parts.host, parts.port, parts.user, parts.password) == ("proxy.acmecorp.com", 3128, "scanner", "p@ss:word")
    assert parts.url_without_credentials == "http://proxy.acmecorp.com:3128"


def test_redact_hides_the_password_only():
    assert redact("http://scanner:secret@proxy:3128") == "http://scanner:***@proxy:3128"
    assert redact(PROXY) == PROXY


def test_proxy_errors_are_described_without_the_password(monkeypatch):
    monkeypatch.setenv("https_proxy", "http://scanner:hunter2@proxy:3128")
    try:
        try:
            raise OSError("Tunnel connection failed: 407 Proxy Authentication Required")
        except OSError as inner:
            raise RuntimeError("request failed") from inner
    except RuntimeError as exc:
        message = describe_proxy_error(exc)
    assert message == (
        "the outbound proxy http://scanner:***@proxy:3128 refused the request: "
        "it wants a user and password (407) (OSError)"
    )
    assert describe_proxy_error(ValueError("bad region")) is None

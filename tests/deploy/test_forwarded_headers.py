"""Forwarded headers are believed only from the trusted proxy; TLS settings follow INSIGHTCLOUD_TLS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.http import JsonResponse
from django.test import RequestFactory, override_settings

from insightcloud.forwarded import TrustedProxyMiddleware

ROOT = Path(__file__).resolve().parents[2]
PROXY = "10.0.0.5"


def what_django_sees(request):
    return JsonResponse({"secure": request.is_secure(), "client": request.META["REMOTE_ADDR"]})


def request_from(peer: str, **headers: str):
    request = RequestFactory().get("/Status", REMOTE_ADDR=peer, **headers)
    middleware = TrustedProxyMiddleware(what_django_sees)
    return json.loads(middleware(request).content)


@override_settings(TRUSTED_PROXIES=[PROXY], SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_forged_forwarded_proto_from_an_untrusted_address_is_ignored():
    seen = request_from("203.0.113.9", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert seen == {"secure": False, "client": "203.0.113.9"}


@override_settings(TRUSTED_PROXIES=[PROXY], SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_forwarded_proto_and_client_address_from_the_trusted_proxy_are_believed():
    seen = request_from(PROXY, HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert seen == {"secure": True, "client": "198.51.100.1"}


@override_settings(TRUSTED_PROXIES=["10.0.0.0/24"], SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_a_client_cannot_prepend_a_forged_address_to_the_chain():
    # nginx appends the real peer; the client's own "X-Forwarded-For: 1.2.3.4" stays on the left.
    seen = request_from(PROXY, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7, 10.0.0.9")
    assert seen["client"] == "198.51.100.7"


@override_settings(TRUSTED_PROXIES=[], SECURE_PROXY_SSL_HEADER=None)
def test_without_trusted_proxies_forwarded_headers_are_always_dropped():
    seen = request_from("127.0.0.1", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert seen == {"secure": False, "client": "127.0.0.1"}


@pytest.mark.django_db
def test_the_middleware_is_installed_first_and_strips_headers_on_a_real_request(client):
    from django.conf import settings

    assert settings.MIDDLEWARE[0] == "insightcloud.forwarded.TrustedProxyMiddleware"
    response = client.get("/Status", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_PROTO="https")
    assert "Strict-Transport-Security" not in response.headers


def settings_in_child(**env: str) -> dict:
    """Settings as a fresh process computes them from these variables (settings are read at import)."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({'ssl_header': getattr(settings, 'SECURE_PROXY_SSL_HEADER', None), "
        "'cookie_secure': settings.SESSION_COOKIE_SECURE, 'hsts': settings.SECURE_HSTS_SECONDS}))"
    )
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("INSIGHTCLOUD_TRUSTED") and k != "INSIGHTCLOUD_TLS"
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "insightcloud.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_ssl_header_is_set_only_when_trusted_proxies_are():
    assert settings_in_child()["ssl_header"] is None
    assert settings_in_child(INSIGHTCLOUD_TRUSTED_PROXIES="127.0.0.1")["ssl_header"] == [
        "HTTP_X_FORWARDED_PROTO",
        "https",
    ]


def test_tls_turns_on_secure_cookies_and_hsts():
    assert settings_in_child(INSIGHTCLOUD_TLS="true") | {"ssl_header": None} == {
        "ssl_header": None,
        "cookie_secure": True,
        "hsts": 31536000,
    }
    assert settings_in_child()["cookie_secure"] is False


def test_a_bad_trusted_proxy_is_refused_with_its_name():
    code = "import django; django.setup()"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "insightcloud.settings", "INSIGHTCLOUD_TRUSTED_PROXIES": "nginx"},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "INSIGHTCLOUD_TRUSTED_PROXIES: 'nginx' is not an IP address" in result.stderr

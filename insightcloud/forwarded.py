"""Believe X-Forwarded-* headers only from the TLS proxy in front of the interface server.

nginx/Apache (deploy/) terminate TLS and pass the client's address and scheme in
X-Forwarded-For / X-Forwarded-Proto. Anyone can send those headers, so they are honoured only
when the connection comes from an address in ``INSIGHTCLOUD_TRUSTED_PROXIES``; from anyone else
they are removed before Django (``SECURE_PROXY_SSL_HEADER``, logging, audit) can see them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> list[Network]:
    """IPs and CIDRs as networks; a bad entry raises ValueError naming it."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"INSIGHTCLOUD_TRUSTED_PROXIES: {value!r} is not an IP address or CIDR range") from None
    return networks


def in_networks(address: str, networks: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


class TrustedProxyMiddleware:
    """First middleware: strip forwarded headers from untrusted peers, take the client address from trusted ones."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.networks = parse_networks(getattr(settings, "TRUSTED_PROXIES", []))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if self.networks and in_networks(meta.get("REMOTE_ADDR", ""), self.networks):
            chain = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
            # The right-most address that is not one of our proxies is the client (the left may be forged).
            for address in reversed(chain):
                if not in_networks(address, self.networks):
                    meta["REMOTE_ADDR"] = address
                    break
        else:
            for header in FORWARDED_HEADERS:
                meta.pop(header, None)
        return self.get_response(request)

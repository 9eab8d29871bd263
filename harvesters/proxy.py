"""Outbound proxy settings for every cloud client: ``http_proxy``/``https_proxy``/``no_proxy``.

The variables come from the environment or /divvycloud/prod.env (settings.py copies them into
``os.environ``). Some SDKs honour them on their own (botocore, requests, google-auth), some
only partly (no CIDR ranges in ``no_proxy``), and some not at all (the Alibaba SDK ignores
``no_proxy``; httplib2 needs a ProxyInfo). Every cloud asks :func:`proxy_for` instead, so the
rules are the same everywhere:

- ``https://`` URLs use ``https_proxy`` (or ``HTTPS_PROXY``), ``http://`` URLs ``http_proxy``;
- ``no_proxy`` entries, comma- or space-separated: ``*`` (everything), a host name
  (``mysql``), a domain suffix (``.acmecorp.com`` or ``acmecorp.com``: the domain and its
  sub-domains), an IP address, a CIDR range (``10.0.0.0/8``), any of these with ``:port``;
- credentials go in the proxy URL: ``http://USER:PASSWORD@HOST:PORT`` (percent-encode ``@``,
  ``:`` and ``/`` inside them).

Nothing here imports a cloud SDK; the httplib2 helper imports httplib2 lazily.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def _variable(environ: Mapping[str, str], name: str) -> str:
    """Lower case wins over upper case, as in curl and requests."""
    value = environ.get(name.lower())
    if value is None:
        value = environ.get(name.upper())
    return (value or "").strip()


def _split_host_port(netloc: str) -> tuple[str, int | None]:
    if netloc.startswith("["):  # [v6]:port
        host, _, rest = netloc[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif netloc.count(":") == 1:
        host, _, port = netloc.partition(":")
    else:
        host, port = netloc, ""
    return host.lower().rstrip("."), int(port) if port.isdigit() else None


def bypasses_proxy(host: str, port: int | None, no_proxy: str) -> bool:
    """Whether ``host[:port]`` is listed in ``no_proxy`` (see the module docstring for the forms)."""
    host = host.lower().strip("[]").rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.replace(" ", ",").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_host, entry_port = entry, None
        if "/" not in entry:
            entry_host, entry_port = _split_host_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        if "/" in entry_host:
            try:
                if address is not None and address in ipaddress.ip_network(entry_host, strict=False):
                    return True
            except ValueError:
                pass
            continue
        try:
            entry_address = ipaddress.ip_address(entry_host)
        except ValueError:
            entry_address = None
        if entry_address is not None:
            if address == entry_address:
                return True
            continue  # an IP entry matches that IP only
        suffix = entry_host.lstrip(".").lstrip("*").lstrip(".")
        if suffix and (host == suffix or host.endswith("." + suffix)):
            return True
    return False


def proxy_for(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy URL to reach ``url`` through, or None to connect directly."""
    environ = os.environ if environ is None else environ
    parts = urlsplit(url if "://" in url else f"https://{url}")
    scheme = parts.scheme.lower()
    proxy = _variable(environ, f"{scheme}_proxy") or _variable(environ, "all_proxy")
    if not proxy:
        return None
    host = (parts.hostname or "").lower()
    port = parts.port or DEFAULT_PORTS.get(scheme)
    if bypasses_proxy(host, port, _variable(environ, "no_proxy")):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


@dataclass(frozen=True)
class ProxyParts:
    """A proxy URL taken apart, for SDKs that want host, port and credentials separately."""

    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None

    @property
    def url_without_credentials(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def split_proxy(proxy_url: str) -> ProxyParts:
    parts = urlsplit(proxy_url if "://" in proxy_url else f"http://{proxy_url}")
    if not parts.hostname:
        raise ValueError(f"not a proxy URL: {redact(proxy_url)!r}")
    return ProxyParts(
        scheme=parts.scheme,
        host=parts.hostname,
        port=parts.port or (443 if parts.scheme == "https" else 8080 if parts.scheme == "http" else 1080),
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def redact(proxy_url: str) -> str:
    """The proxy URL with its password replaced, for messages and logs."""
    parts = urlsplit(proxy_url)
    if not parts.password:
        return proxy_url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def requests_proxies(url: str, environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """A ``proxies=`` mapping for requests/azure-core: the proxy for ``url`` or an explicit direct route."""
    proxy = proxy_for(url, environ)
    # None values override requests' own environment lookup, so our no_proxy decision stands.
    return {"http": proxy, "https": proxy}


def botocore_proxies(endpoint_url: str, environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """``botocore.config.Config(proxies=...)`` for a client of ``endpoint_url`` (CIDR-aware no_proxy)."""
    return requests_proxies(endpoint_url, environ)


def httplib2_proxy_info(url: str, environ: Mapping[str, str] | None = None) -> Any:
    """An ``httplib2.ProxyInfo`` for googleapiclient (needs PySocks), or None to connect directly."""
    proxy = proxy_for(url, environ)
    if proxy is None:
        return None
    import httplib2
    import socks  # PySocks: httplib2 tunnels HTTPS through an HTTP proxy with it

    parts = split_proxy(proxy)
    return httplib2.ProxyInfo(
        socks.PROXY_TYPE_HTTP,
        parts.host,
        parts.port,
        proxy_user=parts.user,
        proxy_pass=parts.password,
    )


class ProxyRefused(Exception):
    """The proxy answered but would not carry the request (407, 403, 5xx) or could not be reached."""


def describe_proxy_error(exc: BaseException) -> str | None:
    """One operator-facing line when ``exc`` (or its causes) is a proxy failure, else None.

    Cloud classifiers call this first so that "the proxy wants credentials" is not reported
    as "the cloud refused the credentials".
    """
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__ or _wrapped(current)
    proxy_errors = [
        e
        for e in chain
        if isinstance(e, ProxyRefused) or "Proxy" in type(e).__name__ or "proxy" in str(e).lower() or "407" in str(e)
    ]
    if not proxy_errors:
        return None
    wants_credentials = any("407" in str(e) for e in chain)
    reason = "it wants a user and password (407)" if wants_credentials else "the connection failed"
    name = type(proxy_errors[0]).__name__
    for candidate in ("https_proxy", "http_proxy"):
        proxy = _variable(os.environ, candidate)
        if proxy:
            return f"the outbound proxy {redact(proxy)} refused the request: {reason} ({name})"
    return f"the outbound proxy refused the request: {reason} ({name})"


def _wrapped(exc: BaseException) -> BaseException | None:
    # urllib3/botocore keep the underlying error in attributes rather than __cause__.
    for attribute in ("reason", "error", "original_error"):
        inner = getattr(exc, attribute, None)
        if isinstance(inner, BaseException):
            return inner
    kwargs = getattr(exc, "kwargs", None)
    if isinstance(kwargs, dict) and isinstance(kwargs.get("error"), BaseException):
        return kwargs["error"]
    return None

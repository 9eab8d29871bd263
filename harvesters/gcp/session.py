"""GCP sessions: service-account key credentials, API clients, endpoints, proxy, paging, errors.

Every GCP call of the harvesters goes through :class:`GcpContext`, so endpoint overrides, proxy
settings, timeouts, page-level retries and error classification are the same everywhere.

- Credentials are a service-account JSON key (google-auth); the token is fetched from the key's
  ``token_uri`` (or ``auth_settings["token_uri"]``) through the same proxy-aware HTTP as the APIs.
- Clients are googleapiclient services built from the discovery documents bundled with the
  library (``static_discovery=True``: no discovery fetch at run time), one set per thread
  because httplib2 connections are not thread-safe.
- Endpoints: by default each API's own host. ``auth_settings["endpoint"]`` is a base URL serving
  every API under ``/<api>/`` (``http://127.0.0.1:PORT/`` gives ``.../compute/v1/``,
  ``.../storage/v1/``, ``.../iam/``); ``auth_settings["endpoints"]`` overrides one API's full
  endpoint (``{"compute": "https://compute.example/compute/v1/"}``).
- Proxy: httplib2 only proxies with PySocks installed; we build the ``httplib2.Http`` ourselves
  with a proxy that honours ``http_proxy``/``https_proxy`` and ``no_proxy`` (stdlib semantics).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.oauth2 import service_account
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from harvesters.base import (
    HarvestError,
    InvalidCredentials,
    PermissionDenied,
    TransientError,
    with_backoff,
)

DEFAULT_UNIVERSE = "googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)

#: API name -> (version, servicePath of its discovery document).
APIS: dict[str, tuple[str, str]] = {
    "compute": ("v1", "compute/v1/"),
    "storage": ("v1", "storage/v1/"),
    "iam": ("v1", ""),
    "sqladmin": ("v1", ""),
    "cloudkms": ("v1", ""),
    "container": ("v1", ""),
    "logging": ("v2", ""),
    "cloudresourcemanager": ("v3", ""),
}

_REQUIRED_KEY_FIELDS = ("client_email", "private_key", "token_uri")
_RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError", "RATE_LIMIT_EXCEEDED"}
_DISABLED_API_REASONS = {"accessNotConfigured", "SERVICE_DISABLED"}


# --- keys and endpoints -----------------------------------------------------------------


def parse_key(text: str | bytes | dict) -> dict:
    """Parse and check a service-account JSON key; ValueError with a one-line reason (never the key)."""
    if isinstance(text, dict):
        key = text
    else:
        try:
            key = json.loads(text)
        except (ValueError, TypeError):
            raise ValueError("the service-account key is not valid JSON") from None
    if not isinstance(key, dict):
        raise ValueError("the service-account key is not a JSON object")
    if key.get("type") != "service_account":
        raise ValueError(f"expected a service-account key (type service_account), got type {key.get('type')!r}")
    missing = [name for name in _REQUIRED_KEY_FIELDS if not key.get(name)]
    if missing:
        raise ValueError(f"the service-account key lacks {', '.join(missing)}")
    return key


def check_url(url: str, what: str) -> str:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{what} must be an http(s) URL, got {url!r}")
    return url


def api_endpoint(api: str, auth_settings: dict) -> str | None:
    """The ``client_options`` endpoint of ``api`` (with its service path), None for Google's own."""
    explicit = (auth_settings.get("endpoints") or {}).get(api)
    if explicit:
        return explicit if explicit.endswith("/") else explicit + "/"
    base = auth_settings.get("endpoint")
    if not base:
        return None
    service_path = APIS[api][1]
    # compute's and storage's paths already start with their name ("compute/v1/").
    path = service_path if service_path.startswith(f"{api}/") else f"{api}/{service_path}"
    return base.rstrip("/") + "/" + path


# --- proxy ------------------------------------------------------------------------------


class _NoProxyAwareInfo(httplib2.ProxyInfo):
    """httplib2's ProxyInfo with the stdlib's ``no_proxy`` matching (host:port, suffixes, ``*``)."""

    def bypass_host(self, hostname: str) -> bool:
        return bool(urllib.request.proxy_bypass_environment(hostname))


def proxy_info(method: str = "http") -> httplib2.ProxyInfo | None:
    """Proxy for ``method`` ("http"/"https") from the environment, read at connection time."""
    url = os.environ.get(f"{method}_proxy") or os.environ.get(f"{method.upper()}_PROXY")
    if not url:
        return None
    base = httplib2.proxy_info_from_url(url, method, noproxy="")
    return _NoProxyAwareInfo(*base.astuple())


def ca_bundle(auth_settings: dict) -> str | None:
    """CA certificates to trust: ``auth_settings["ca_bundle"]``, else REQUESTS_CA_BUNDLE / SSL_CERT_FILE.

    httplib2 otherwise trusts certifi's bundle (or HTTPLIB2_CA_CERTS): a private endpoint or a
    TLS-inspecting proxy needs its own CA here.
    """
    return auth_settings.get("ca_bundle") or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")


def raw_http(auth_settings: dict, timeout: float) -> httplib2.Http:
    """The httplib2 transport every call uses: timeout, proxy from the environment, CA bundle."""
    return httplib2.Http(timeout=timeout, proxy_info=proxy_info, ca_certs=ca_bundle(auth_settings))


# --- errors -----------------------------------------------------------------------------


def _error_reasons(exc: HttpError) -> set[str]:
    """Google's machine-readable reasons: ``errors[].reason``, ``details[].reason`` and ``status``."""
    try:
        body = json.loads(exc.content or b"{}").get("error", {})
    except (ValueError, AttributeError):
        return set()
    if not isinstance(body, dict):
        return set()
    reasons = {str(body["status"])} if body.get("status") else set()
    for key in ("errors", "details"):
        for entry in body.get(key) or []:
            if isinstance(entry, dict) and entry.get("reason"):
                reasons.add(str(entry["reason"]))
    return reasons


def http_status(exc: BaseException) -> int:
    if isinstance(exc, HttpError):
        return int(exc.resp.status)
    return 0


def describe(exc: BaseException) -> str:
    """One line for an operator: HTTP status and Google's message, never a traceback or a secret."""
    if isinstance(exc, HttpError):
        reason = exc.reason if hasattr(exc, "reason") else ""
        text = f"HTTP {exc.resp.status}: {reason}"
    elif isinstance(exc, google.auth.exceptions.RefreshError):
        text = f"token request refused: {exc.args[0] if exc.args else exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(str(text).split())[:400]


def is_transient(exc: BaseException) -> bool:
    """Throttling, 5xx, timeouts and dropped connections: worth retrying."""
    if isinstance(exc, HarvestError):
        return exc.transient
    if isinstance(exc, HttpError):
        status = http_status(exc)
        return status == 429 or status >= 500 or (status == 403 and bool(_error_reasons(exc) & _RATE_LIMIT_REASONS))
    if isinstance(exc, google.auth.exceptions.RefreshError):
        return bool(getattr(exc, "retryable", False))
    if isinstance(exc, google.auth.exceptions.TransportError):
        return True
    return isinstance(exc, TimeoutError | socket.timeout | ConnectionError | http.client.HTTPException)


def classify(exc: BaseException) -> HarvestError:
    """Map an SDK exception to our error kinds (what the job and the cloud's status record)."""
    if isinstance(exc, HarvestError):
        return exc
    if is_transient(exc):
        return TransientError(describe(exc))
    if isinstance(exc, google.auth.exceptions.RefreshError):
        return InvalidCredentials(describe(exc))
    if isinstance(exc, HttpError):
        status = http_status(exc)
        if status == 401:
            return InvalidCredentials(describe(exc))
        if status == 403:
            if _error_reasons(exc) & _DISABLED_API_REASONS:
                return PermissionDenied(f"API not enabled in the project: {describe(exc)}")
            return PermissionDenied(describe(exc))
    return HarvestError(describe(exc))


# --- the context --------------------------------------------------------------------------


@dataclass
class GcpContext:
    """An authenticated session on one GCP project (``account_id`` is the project id)."""

    account_id: str
    credentials: service_account.Credentials
    auth_settings: dict = field(default_factory=dict)
    timeout: float = 60.0
    page_attempts: int = 4  # per API call, before the error goes up to the harvest
    base_delay: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)
    _memo_locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def project_id(self) -> str:
        return self.account_id

    def http(self) -> google_auth_httplib2.AuthorizedHttp:
        """A new authorized HTTP with our timeout and proxy (one per thread: httplib2 is not thread-safe)."""
        return google_auth_httplib2.AuthorizedHttp(self.credentials, http=raw_http(self.auth_settings, self.timeout))

    def api(self, name: str) -> Any:
        """The googleapiclient service for ``name`` (a key of APIS), cached per thread."""
        services = getattr(self._local, "services", None)
        if services is None:
            services = self._local.services = {}
            self._local.http = self.http()
        if name not in services:
            options: dict[str, str] = {}
            endpoint = api_endpoint(name, self.auth_settings)
            if endpoint:
                options["api_endpoint"] = endpoint
            universe = getattr(self.credentials, "universe_domain", DEFAULT_UNIVERSE)
            if universe != DEFAULT_UNIVERSE:
                # A sovereign cloud: its hosts are <api>.<universe>, and the client must agree with the key.
                options["universe_domain"] = universe
            services[name] = discovery.build(
                name,
                APIS[name][0],
                http=self._local.http,
                static_discovery=True,
                cache_discovery=False,
                client_options=options or None,
            )
        return services[name]

    def execute(self, request: Any) -> dict:
        """Run one API request, retrying transient failures; raise a HarvestError when it cannot."""
        try:
            return with_backoff(
                lambda: request.execute(num_retries=0),
                is_transient=is_transient,
                attempts=self.page_attempts,
                base_delay=self.base_delay,
                sleep=self.sleep,
            )
        except Exception as exc:
            raise classify(exc) from exc

    def pages(self, method: Callable[..., Any], **params: Any) -> Iterator[dict]:
        """Yield each response of a paged listing, following ``nextPageToken``."""
        seen: set[str] = set()
        token = None
        while True:
            if token:
                params["pageToken"] = token
            response = self.execute(method(**params))
            yield response
            token = response.get("nextPageToken")
            if not token:
                return
            if token in seen:
                raise HarvestError(f"the API repeated page token {token[:40]!r}: listing cannot complete")
            seen.add(token)

    def items(self, method: Callable[..., Any], items_key: str, **params: Any) -> Iterator[dict]:
        """Every item of a paged listing."""
        for page in self.pages(method, **params):
            yield from page.get(items_key) or []

    def aggregated(self, method: Callable[..., Any], items_key: str, **params: Any) -> Iterator[tuple[str, dict]]:
        """``(scope, item)`` for a compute aggregatedList; scope is ``zones/us-central1-a`` or ``regions/…``.

        Scopes the API could not reach are an incomplete listing: raise rather than return less.
        """
        for page in self.pages(method, **params):
            if page.get("unreachables"):
                raise TransientError(f"compute could not reach {', '.join(page['unreachables'][:5])}")
            for scope, scoped in (page.get("items") or {}).items():
                for item in scoped.get(items_key) or []:
                    yield scope, item

    def regional(self, key: str, fetch_grouped: Callable[[], dict[str, list]], region: str) -> list:
        """The ``region`` share of a project-wide listing grouped by region, fetched once per harvest.

        Compute's aggregatedList, Cloud SQL and GKE answer for every region at once while the
        harvest asks region by region: the first region's call fetches everything, each region then
        takes its share. A region asked for a second time (the next harvest on the same context)
        fetches afresh. A failure is not kept, so a retry calls the API again.
        """
        with self._lock:
            lock = self._memo_locks.setdefault(key, threading.Lock())
        with lock:
            entry = self._memo.get(key)
            if entry is None or region in entry["taken"]:
                entry = {"groups": fetch_grouped(), "taken": set()}
                self._memo[key] = entry
            entry["taken"].add(region)
            return entry["groups"].pop(region, [])


def credentials_from(key: dict, auth_settings: dict) -> service_account.Credentials:
    try:
        credentials = service_account.Credentials.from_service_account_info(key, scopes=list(SCOPES))
    except (ValueError, KeyError) as exc:
        # google-auth's message names the bad field; it never contains the private key.
        raise InvalidCredentials(f"the service-account key cannot be used: {exc}") from None
    if auth_settings.get("token_uri"):
        credentials = credentials.with_token_uri(auth_settings["token_uri"])
    return credentials


def connect(project_id: str, auth_settings: dict, credentials: dict, **options: Any) -> GcpContext:
    """Build a context and fetch a token now: InvalidCredentials if the key is refused."""
    try:
        key = parse_key(credentials.get("service_account_key") or {})
    except ValueError as exc:
        raise InvalidCredentials(str(exc)) from None
    ctx = GcpContext(
        account_id=project_id, credentials=credentials_from(key, auth_settings), auth_settings=auth_settings
    )
    for name, value in options.items():
        setattr(ctx, name, value)
    refresh_token(ctx)
    return ctx


def refresh_token(ctx: GcpContext) -> None:
    request = google_auth_httplib2.Request(raw_http(ctx.auth_settings, ctx.timeout))
    try:
        ctx.credentials.refresh(request)
    except google.auth.exceptions.RefreshError as exc:
        if is_transient(exc):
            raise TransientError(describe(exc)) from None
        raise InvalidCredentials(f"GCP refused the service-account key: {describe(exc)}") from None
    except Exception as exc:
        # Not an answer from Google about the key (TLS, DNS, proxy, timeout): say what it was.
        raise classify(exc) from None

"""Alibaba Cloud sessions: AccessKey or STS role, endpoint overrides, proxy, errors, retries.

Every Alibaba call of the harvesters goes through :class:`AlibabaContext` (``call`` for the RPC
APIs of aliyun-python-sdk-core and its product SDKs, ``oss_service`` / ``oss_bucket`` for oss2),
so endpoints, proxies, retries and the STS refresh are the same everywhere.

Endpoints: ``auth_settings["endpoint_url"]`` sends every product to one base URL (our fake,
an on-premises Apsara stack); ``auth_settings["endpoints"]`` overrides one product
(``{"ecs": "https://ecs.example.com", "oss": "https://oss-{region}.example.com"}``, ``{region}``
is filled in). Without either, the SDK's own endpoint data decides.

Proxy: the Alibaba SDK reads http_proxy/https_proxy but ignores no_proxy, so we decide per
endpoint host ourselves (the requests library's rules: host suffixes, CIDRs, ``*``) and hand the
SDK an explicit proxy setting, or an explicit "no proxy" that stops it reading the environment.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from harvesters.base import (
    AssumeRoleFailed,
    HarvestError,
    InvalidCredentials,
    PermissionDenied,
    TransientError,
    cloud_driver,
    with_backoff,
)

if TYPE_CHECKING:  # the SDKs are imported when a call runs, never at start-up
    import oss2
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkcore.request import AcsRequest

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_REGION = "cn-hangzhou"  # where the global services (RAM, STS) are called

_INVALID_CREDENTIAL_CODES = {
    "InvalidAccessKeyId.NotFound",
    "InvalidAccessKeyId.Inactive",
    "InvalidAccessKeyId",
    "InvalidAccessKeySecret",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidSecurityToken.Expired",
    "InvalidSecurityToken.Malformed",
    "InvalidSecurityToken.MismatchWithAccessKey",
    "InvalidObjectName.NotFound",  # OSS's answer for an unknown key in some regions
}
_PERMISSION_CODES = {
    "Forbidden",
    "Forbidden.RAM",
    "Forbidden.AccessDenied",
    "NoPermission",
    "AccessDenied",
    "Forbidden.NoPermission",
}
_THROTTLING_CODES = {
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "Throttling.Resource",
    "ServiceUnavailable",
    "ServiceBusy",
    "InternalError",
    "UnknownError",
    "SDK.HttpError",
    "SDK.ServerUnreachable",
    "RequestTimeTooSkewed.Retry",
}
# Codes that mean "this resource has no such setting", not a failed listing.
NOT_FOUND_CODES = {
    "EntityNotExist.User.LoginProfile",
    "EntityNotExist.User.MFADevice",
    "NoSuchBucketPolicy",
    "NoSuchServerSideEncryptionRule",
    "InvalidDBInstanceId.NotFound",
}


# API versions of the product SDKs we call (aliyunsdk<product>.request.<version>).
API_VERSIONS = {
    "ecs": "v20140526",
    "vpc": "v20160428",
    "ram": "v20150501",
    "rds": "v20140815",
    "kms": "v20160120",
    "actiontrail": "v20200706",
    "slb": "v20140515",
    "sts": "v20150401",
}


def rpc(product: str, action: str) -> Callable[[], AcsRequest]:
    """A factory of the product SDK's request class for ``action``, imported on first use."""

    def make() -> AcsRequest:
        module = importlib.import_module(f"aliyunsdk{product}.request.{API_VERSIONS[product]}.{action}Request")
        return getattr(module, f"{action}Request")()

    return make


class _ExpectedAnswers(logging.Filter):
    """aliyunsdkcore logs every error answer at ERROR, also "this user has no MFA device"; drop those."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(f"Error:{code} " in message for code in NOT_FOUND_CODES)


logging.getLogger("aliyunsdkcore.client").addFilter(_ExpectedAnswers())


# --- errors --------------------------------------------------------------------------------


def _sdk_errors() -> tuple[type, type, type, type]:
    """(ServerException, ClientException, OssError, oss RequestError), imported when first needed."""
    import oss2.exceptions
    from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException

    return ServerException, ClientException, oss2.exceptions.OssError, oss2.exceptions.RequestError


def error_code(exc: BaseException) -> str:
    ServerException, ClientException, OssError, _ = _sdk_errors()  # noqa: N806
    if isinstance(exc, ServerException | ClientException):
        return exc.get_error_code() or ""
    if isinstance(exc, OssError):
        return exc.code or ""
    return ""


def http_status(exc: BaseException) -> int:
    ServerException, _, OssError, _ = _sdk_errors()  # noqa: N806
    if isinstance(exc, ServerException):
        return exc.get_http_status() or 0
    if isinstance(exc, OssError):
        return exc.status or 0
    return 0


def describe(exc: BaseException) -> str:
    """One line for an operator: code and message, never a traceback or a secret."""
    ServerException, ClientException, OssError, _ = _sdk_errors()  # noqa: N806
    if isinstance(exc, ServerException | ClientException):
        return f"{exc.get_error_code()}: {exc.get_error_msg()}".strip()
    if isinstance(exc, OssError):
        return f"{exc.code or exc.status}: {exc.message}".strip()
    return f"{type(exc).__name__}: {exc}"


def is_transient(exc: BaseException) -> bool:
    """Throttling, 5xx and connection failures: worth retrying with backoff."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, HarvestError):
        return False
    ServerException, ClientException, OssError, OssRequestError = _sdk_errors()  # noqa: N806
    if isinstance(exc, OssRequestError):  # connection refused/reset, timeout
        return True
    if isinstance(exc, ClientException):
        return error_code(exc) in _THROTTLING_CODES
    if isinstance(exc, ServerException | OssError):
        status = http_status(exc)
        code = error_code(exc)
        return code in _THROTTLING_CODES or code.startswith("Throttling") or status == 429 or status >= 500
    return False


def classify(exc: BaseException) -> HarvestError:
    """Map an SDK exception to our error kinds (what the job and the cloud's status record)."""
    if isinstance(exc, HarvestError):
        return exc
    code = error_code(exc)
    if code in _INVALID_CREDENTIAL_CODES:
        return InvalidCredentials(describe(exc))
    if code in _PERMISSION_CODES or code.startswith("Forbidden"):
        return PermissionDenied(describe(exc))
    if is_transient(exc):
        return TransientError(describe(exc))
    return HarvestError(describe(exc))


# --- proxy and endpoints -------------------------------------------------------------------


def proxy_for(url: str) -> str | None:
    """The proxy for ``url`` from http_proxy/https_proxy/all_proxy, or None where no_proxy matches."""
    import requests.utils

    return requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))


def acs_proxy_setting(url: str) -> dict[str, str | None]:
    """An AcsClient ``proxy`` value for ``url``: never empty, or the SDK reads the environment itself."""
    proxy = proxy_for(url)
    return {"http": proxy, "https": proxy}


def oss_proxies(url: str) -> dict[str, str] | None:
    proxy = proxy_for(url)
    # None values tell requests "no proxy for this scheme" and keep it from reading the environment.
    return {"http": proxy, "https": proxy}  # type: ignore[dict-item]


def _split_endpoint(url: str, default_scheme: str) -> tuple[str, str]:
    """``http://host:port`` -> ("http", "host:port"); a bare host keeps the default scheme."""
    if "://" not in url:
        return default_scheme, url.rstrip("/")
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


# --- context -------------------------------------------------------------------------------


@dataclass
class Credentials:
    access_key_id: str
    access_key_secret: str
    security_token: str | None = None
    expires_at: float | None = None  # epoch seconds, for STS credentials

    def acs_credential(self) -> Any:
        from aliyunsdkcore.auth.credentials import AccessKeyCredential, StsTokenCredential

        if self.security_token:
            return StsTokenCredential(self.access_key_id, self.access_key_secret, self.security_token)
        return AccessKeyCredential(self.access_key_id, self.access_key_secret)

    def oss_auth(self) -> Any:
        import oss2

        if self.security_token:
            return oss2.StsAuth(self.access_key_id, self.access_key_secret, self.security_token)
        return oss2.Auth(self.access_key_id, self.access_key_secret)


@dataclass
class AlibabaContext:
    """An authenticated Alibaba Cloud session on one account (the account's UID)."""

    credentials: Credentials
    account_id: str = ""
    arn: str = ""
    endpoint_url: str | None = None
    endpoints: dict[str, str] = field(default_factory=dict)
    protocol: str = "https"
    timeout: int = 30
    attempts: int = 5
    detail_workers: int = 4  # threads fetching per-resource details of one page
    retry_base_delay: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    refresh: Callable[[], Credentials] | None = field(default=None, repr=False)
    _clients: dict[tuple, AcsClient] = field(default_factory=dict, repr=False)
    _oss_session: Any = field(default=None, repr=False)  # one connection pool for every bucket
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- RPC APIs (ECS, VPC, RAM, RDS, KMS, ActionTrail, SLB, STS) --

    def endpoint(self, product: str, region: str) -> str | None:
        """The override URL for ``product`` in ``region``, or None to let the SDK resolve it."""
        url = self.endpoints.get(product.lower()) or self.endpoint_url
        return url.replace("{region}", region) if url else None

    def call(self, request: AcsRequest, region: str = DEFAULT_REGION, **params: Any) -> dict:
        """Send ``request`` (a product SDK request object) with ``params`` and return its JSON body.

        Transient failures are retried with backoff; anything else raises the SDK's exception
        (``classify`` turns it into a HarvestError).
        """
        for key, value in params.items():
            if value is not None:
                request.add_query_param(key, value)
        return with_backoff(
            lambda: self._send(request, region),
            is_transient=is_transient,
            attempts=self.attempts,
            base_delay=self.retry_base_delay,
            sleep=self.sleep,
        )

    def _send(self, request: AcsRequest, region: str) -> dict:
        self._refresh_if_expiring()
        override = self.endpoint(request.get_product(), region)
        probe = self._client(region, None)
        if override:
            scheme, host = _split_endpoint(override, self.protocol)
        else:
            scheme, host = self.protocol, probe._resolve_endpoint(request)
        request.set_endpoint(host)
        request.set_protocol_type(scheme)
        client = self._client(region, acs_proxy_setting(f"{scheme}://{host}/")["http"])
        return json.loads(client.do_action_with_exception(request))

    def _client(self, region: str, proxy: str | None) -> AcsClient:
        from aliyunsdkcore.client import AcsClient

        key = (region, proxy, self.credentials.access_key_id)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = AcsClient(
                    region_id=region,
                    credential=self.credentials.acs_credential(),
                    # Our with_backoff retries; the SDK's own retries would multiply the attempts.
                    auto_retry=False,
                    connect_timeout=10,
                    timeout=self.timeout,
                    proxy={"http": proxy, "https": proxy},
                )
                self._clients[key] = client
            return client

    def _refresh_if_expiring(self) -> None:
        expires = self.credentials.expires_at
        if self.refresh is None or expires is None or expires - time.time() > 300:
            return
        with self._lock:
            self.credentials = self.refresh()
            self._clients.clear()

    def map(self, detail: Callable[[T], R], items: list[T]) -> list[R]:
        """``[detail(item) for item in items]`` on a few threads, in order; the first failure raises.

        Most types need one or more calls per resource (bucket ACL, RAM user MFA, RDS whitelist):
        a page's details are fetched side by side rather than one round trip after another.
        """
        if self.detail_workers <= 1 or len(items) <= 1:
            return [detail(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.detail_workers, len(items))) as pool:
            return list(pool.map(detail, items))

    # -- OSS --

    def oss_endpoint(self, region: str) -> str:
        """The OSS endpoint URL of ``region`` (a location such as ``oss-cn-hangzhou`` also works)."""
        location = region if region.startswith("oss-") else f"oss-{region}"
        url = self.endpoints.get("oss") or self.endpoint_url
        if url:
            return url.replace("{region}", location.removeprefix("oss-"))
        return f"{self.protocol}://{location}.aliyuncs.com"

    def oss_service(self, region: str = DEFAULT_REGION) -> oss2.Service:
        import oss2

        self._refresh_if_expiring()
        endpoint = self.oss_endpoint(region)
        return oss2.Service(
            self.credentials.oss_auth(),
            endpoint,
            session=self._shared_oss_session(),
            connect_timeout=self.timeout,
            proxies=oss_proxies(endpoint),
        )

    def oss_bucket(self, name: str, location: str) -> oss2.Bucket:
        import oss2

        self._refresh_if_expiring()
        endpoint = self.oss_endpoint(location)
        return oss2.Bucket(
            self.credentials.oss_auth(),
            endpoint,
            name,
            session=self._shared_oss_session(),
            connect_timeout=self.timeout,
            proxies=oss_proxies(endpoint),
        )

    def _shared_oss_session(self) -> Any:
        import oss2

        with self._lock:
            if self._oss_session is None:
                self._oss_session = oss2.Session(pool_size=20)
            return self._oss_session

    def oss(self, call: Callable[[], Any]) -> Any:
        """Run one oss2 call with the same backoff as the RPC calls."""
        return with_backoff(
            call, is_transient=is_transient, attempts=self.attempts, base_delay=self.retry_base_delay, sleep=self.sleep
        )


# --- connecting ----------------------------------------------------------------------------


def context_options(auth_settings: dict) -> dict[str, Any]:
    """The non-secret session settings a CloudAccount (or the onboarding options) carries."""
    options: dict[str, Any] = {
        "endpoint_url": auth_settings.get("endpoint_url") or None,
        "endpoints": dict(auth_settings.get("endpoints") or {}),
        "protocol": auth_settings.get("protocol") or "https",
    }
    for key in ("timeout", "attempts", "detail_workers"):
        if auth_settings.get(key):
            options[key] = int(auth_settings[key])
    if auth_settings.get("retry_base_delay") is not None:
        options["retry_base_delay"] = float(auth_settings["retry_base_delay"])
    return options


def _caller_identity(ctx: AlibabaContext) -> dict:
    return ctx.call(rpc("sts", "GetCallerIdentity")())


def _assume_role(base: AlibabaContext, role_arn: str, session_name: str, duration: int) -> Credentials:
    body = base.call(
        rpc("sts", "AssumeRole")(), RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=duration
    )
    creds = body["Credentials"]
    expires = dt.datetime.fromisoformat(creds["Expiration"].replace("Z", "+00:00")).timestamp()
    return Credentials(creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"], expires)


def _refusal(exc: BaseException, what: str, kind: type[HarvestError]) -> HarvestError:
    """``kind`` for a real refusal, TransientError when the cloud could not answer."""
    if is_transient(exc):
        return TransientError(f"{what.replace('refused', 'did not answer for')}: {describe(exc)}")
    return kind(f"{what}: {describe(exc)}")


def connect(auth_type: str, auth_settings: dict, credentials: dict) -> AlibabaContext:
    """Authenticate, check the identity with STS and assume the RAM role if one is set.

    Raises InvalidCredentials (the keys are refused) or AssumeRoleFailed (the keys work, the
    role does not) with a one-line reason; throttling, 5xx or an unreachable endpoint raise a
    TransientError instead, so that a network blip never marks the account's keys invalid.
    """
    key_id = credentials.get("access_key_id") or ""
    secret = credentials.get("access_key_secret") or ""
    if not key_id or not secret:
        raise InvalidCredentials("Alibaba Cloud needs an AccessKey id and secret")
    options = context_options(auth_settings)
    base = AlibabaContext(credentials=Credentials(key_id, secret), **options)
    try:
        identity = _caller_identity(base)
    except Exception as exc:
        raise _refusal(exc, "Alibaba Cloud refused the AccessKey", InvalidCredentials) from None
    role_arn = auth_settings.get("role_arn")
    if auth_type != "assume_role" or not role_arn:
        base.account_id, base.arn = str(identity["AccountId"]), identity.get("Arn", "")
        return base

    session_name = auth_settings.get("session_name") or "InsightCloud"
    duration = int(auth_settings.get("duration") or 3600)

    def assume() -> Credentials:
        return _assume_role(base, role_arn, session_name, duration)

    try:
        assumed = assume()
    except Exception as exc:
        raise _refusal(exc, f"cannot assume {role_arn}", AssumeRoleFailed) from None
    ctx = AlibabaContext(credentials=assumed, refresh=assume, **options)
    try:
        identity = _caller_identity(ctx)
    except Exception as exc:
        raise _refusal(exc, f"assumed {role_arn} but its credentials fail", AssumeRoleFailed) from None
    ctx.account_id, ctx.arn = str(identity["AccountId"]), identity.get("Arn", "")
    return ctx


def list_regions(ctx: AlibabaContext) -> list[dict]:
    """ECS DescribeRegions: every region the account can use, with its status."""
    body = ctx.call(rpc("ecs", "DescribeRegions")())
    return body.get("Regions", {}).get("Region", [])


@cloud_driver("alibaba")
class AlibabaDriver:
    """The Alibaba Cloud driver: connect a CloudAccount, list its regions, classify SDK errors."""

    provider = "alibaba"

    def connect(self, cloud: Any) -> AlibabaContext:
        return connect(cloud.auth_type, cloud.auth_settings or {}, cloud.credentials or {})

    def regions(self, ctx: AlibabaContext) -> list[str]:
        try:
            return [r["RegionId"] for r in list_regions(ctx) if r.get("Status", "available") == "available"]
        except Exception as exc:
            raise classify(exc) from exc

    def is_transient(self, exc: BaseException) -> bool:
        return is_transient(exc)

    def classify(self, exc: BaseException) -> HarvestError:
        return classify(exc)


# --- paging helpers shared by the collectors -----------------------------------------------


def pages_by_number(
    ctx: AlibabaContext,
    make_request: Callable[[], AcsRequest],
    region: str,
    list_path: tuple[str, str],
    page_size: int = 50,
    **params: Any,
) -> Iterator[list[dict]]:
    """PageNumber/PageSize/TotalCount paging; yields each page's items."""
    number = 1
    seen = 0
    while True:
        body = ctx.call(make_request(), region, PageNumber=number, PageSize=page_size, **params)
        items = body.get(list_path[0], {}).get(list_path[1], []) or []
        yield items
        seen += len(items)
        total = int(body.get("TotalCount") or body.get("TotalRecordCount") or 0)
        if not items or seen >= total:
            return
        number += 1


def pages_by_token(
    ctx: AlibabaContext,
    make_request: Callable[[], AcsRequest],
    region: str,
    list_path: tuple[str, str],
    page_size: int = 100,
    **params: Any,
) -> Iterator[list[dict]]:
    """NextToken/MaxResults paging; yields each page's items."""
    token = None
    while True:
        body = ctx.call(make_request(), region, NextToken=token, MaxResults=page_size, **params)
        yield body.get(list_path[0], {}).get(list_path[1], []) or []
        token = body.get("NextToken")
        if not token:
            return


def pages_by_marker(
    ctx: AlibabaContext,
    make_request: Callable[[], AcsRequest],
    region: str,
    list_path: tuple[str, str],
    page_size: int = 100,
    **params: Any,
) -> Iterator[list[dict]]:
    """Marker/MaxItems/IsTruncated paging (RAM); yields each page's items."""
    marker = None
    while True:
        body = ctx.call(make_request(), region, Marker=marker, MaxItems=page_size, **params)
        yield body.get(list_path[0], {}).get(list_path[1], []) or []
        marker = body.get("Marker")
        if not body.get("IsTruncated") or not marker:
            return


def optional(call: Callable[[], Any], default: Any = None) -> Any:
    """``call()``, or ``default`` when the cloud answers that the setting does not exist."""
    ServerException, _, OssError, _ = _sdk_errors()  # noqa: N806
    try:
        return call()
    except (ServerException, OssError) as exc:
        if error_code(exc) in NOT_FOUND_CODES or http_status(exc) == 404:
            return default
        raise

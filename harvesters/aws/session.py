"""AWS sessions: credentials (keys, assume-role, instance role), endpoint, retries, timeouts.

Every AWS call of the harvesters and actions goes through :class:`AwsContext.client`, so the
retry mode, timeouts, endpoint override (moto, AWS-compatible clouds) and proxy settings are
the same everywhere.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.session

from harvesters.base import AssumeRoleFailed, HarvestError, InvalidCredentials, PermissionDenied, TransientError

DEFAULT_REGION = "us-east-1"

# botocore's own retries (throttling, 5xx, connection errors) before a call fails; the harvest
# then retries the whole listing with backoff (harvesters.harvest.LISTING_ATTEMPTS).
RETRY_MODE = "adaptive"
MAX_ATTEMPTS = 6

_INVALID_CREDENTIAL_CODES = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "AuthFailure",
    "InvalidAccessKeyId",
    "ExpiredToken",
    "ExpiredTokenException",
}
_THROTTLING_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "PriorRequestNotComplete",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
}
_PERMISSION_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}


def botocore_config(endpoint_url: str | None) -> botocore.config.Config:
    return botocore.config.Config(
        retries={"mode": RETRY_MODE, "max_attempts": MAX_ATTEMPTS},
        connect_timeout=10,
        # Large unpaginated responses (moto, big accounts) can take longer than the default 60 s.
        read_timeout=120,
        max_pool_connections=20,
        # With a custom endpoint, host prefixes (s3control's "<account>.") would break the URL.
        inject_host_prefix=endpoint_url is None,
        user_agent_extra="InsightCloud",
    )


@dataclass
class AwsContext:
    """An authenticated AWS session on one account."""

    session: boto3.session.Session
    account_id: str = ""
    endpoint_url: str | None = None
    partition: str = "aws"
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def client(self, service: str, region: str | None = None) -> Any:
        """A cached, thread-safe-to-create client for ``service`` in ``region``."""
        region = region or DEFAULT_REGION
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=botocore_config(self.endpoint_url),
                )
            return self._clients[key]


def endpoint_from(auth_settings: dict) -> str | None:
    return auth_settings.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL") or None


def base_session(auth_type: str, credentials: dict) -> boto3.session.Session:
    if auth_type in ("keys", "assume_role") and credentials.get("access_key_id"):
        return boto3.session.Session(
            aws_access_key_id=credentials["access_key_id"],
            aws_secret_access_key=credentials["secret_access_key"],
            aws_session_token=credentials.get("session_token") or None,
        )
    # instance role, or assume-role from the default credential chain
    return boto3.session.Session()


def connect(auth_type: str, auth_settings: dict, credentials: dict) -> AwsContext:
    """Authenticate and check the identity with STS; raise InvalidCredentials / AssumeRoleFailed."""
    endpoint_url = endpoint_from(auth_settings)
    session = base_session(auth_type, credentials)
    base = AwsContext(session=session, endpoint_url=endpoint_url)
    try:
        identity = base.client("sts").get_caller_identity()
    except Exception as exc:
        if is_transient(exc):  # an endpoint (or proxy) that is down says nothing about the credentials
            raise TransientError(f"cannot reach AWS STS: {describe(exc)}") from None
        from harvesters.proxy import describe_proxy_error

        if not isinstance(exc, botocore.exceptions.ClientError) and describe_proxy_error(exc):
            raise HarvestError(describe(exc)) from None
        raise InvalidCredentials(f"AWS refused the credentials: {describe(exc)}") from None
    if auth_type != "assume_role":
        base.account_id = identity["Account"]
        base.partition = identity["Arn"].split(":")[1]
        return base
    role_arn = auth_settings["role_arn"]
    params = {
        "RoleArn": role_arn,
        "RoleSessionName": auth_settings.get("session_name") or "InsightCloud",
        "DurationSeconds": int(auth_settings.get("duration") or 3600),
    }
    if credentials.get("external_id"):
        params["ExternalId"] = credentials["external_id"]
    sts = base.client("sts")

    def assume() -> dict:
        assumed = sts.assume_role(**params)["Credentials"]
        return {
            "access_key": assumed["AccessKeyId"],
            "secret_key": assumed["SecretAccessKey"],
            "token": assumed["SessionToken"],
            "expiry_time": assumed["Expiration"].isoformat(),
        }

    try:
        first = assume()
    except Exception as exc:
        if is_transient(exc):
            raise TransientError(f"cannot reach AWS STS: {describe(exc)}") from None
        raise AssumeRoleFailed(f"cannot assume {role_arn}: {describe(exc)}") from None
    # Refreshable: a harvest that outlasts the role session assumes the role again instead of
    # failing with ExpiredToken half-way.
    refreshable = botocore.credentials.RefreshableCredentials.create_from_metadata(
        metadata=first, refresh_using=assume, method="sts-assume-role"
    )
    core_session = botocore.session.get_session()
    core_session._credentials = refreshable  # botocore has no public setter; this is the usual way
    session = boto3.session.Session(botocore_session=core_session)
    ctx = AwsContext(session=session, endpoint_url=endpoint_url)
    identity = ctx.client("sts").get_caller_identity()
    ctx.account_id = identity["Account"]
    ctx.partition = identity["Arn"].split(":")[1]
    return ctx


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return ""


def describe(exc: BaseException) -> str:
    """One line for an operator: the AWS error code and message, never a traceback."""
    if isinstance(exc, botocore.exceptions.ClientError):  # AWS answered: the proxy is not the problem
        error = exc.response.get("Error", {})
        return " ".join(f"{error.get('Code', 'Error')}: {error.get('Message', '')}".split())
    from harvesters.proxy import describe_proxy_error

    proxy_problem = describe_proxy_error(exc)  # "the proxy wants a password", not "AWS refused you"
    if proxy_problem:
        return proxy_problem
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "no credentials found (instance role or environment)"
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TransientError):
        return True
    if isinstance(
        exc,
        botocore.exceptions.ConnectionError
        | botocore.exceptions.ReadTimeoutError
        | botocore.exceptions.ConnectTimeoutError,
    ):
        return True
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in _THROTTLING_CODES or status >= 500 or status == 429
    return False


def classify(exc: BaseException) -> HarvestError:
    """Map an SDK exception to our error kinds (what the job and the cloud's status record)."""
    if isinstance(exc, HarvestError):
        return exc
    code = error_code(exc)
    if code in _INVALID_CREDENTIAL_CODES:
        return InvalidCredentials(describe(exc))
    if code in _PERMISSION_CODES:
        return PermissionDenied(describe(exc))
    if is_transient(exc):
        return TransientError(describe(exc))
    return HarvestError(describe(exc))

"""Azure sessions: a service-principal credential and ARM clients with our endpoint, TLS and retry settings.

Every Azure call of the harvesters goes through :meth:`AzureContext.client`, so the authority
(sovereign clouds, tests), the ARM endpoint, the CA bundle, the retry policy and the proxy
settings (requests honours http_proxy / https_proxy / no_proxy) are the same everywhere.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from harvesters.base import HarvestError, InvalidCredentials, PermissionDenied, TransientError

# azure-core logs every request's headers at INFO and azure-identity every token it gets: far too much for a
# worker's log, and nothing an operator needs (errors still surface as exceptions).
for _name in ("azure.core.pipeline.policies.http_logging_policy", "azure.identity"):
    logging.getLogger(_name).setLevel(logging.WARNING)

PUBLIC_AUTHORITY = "https://login.microsoftonline.com"
PUBLIC_ARM = "https://management.azure.com"

#: native client name -> (module, class). Imported on first use only.
CLIENTS = {
    "subscriptions": ("azure.mgmt.resource.subscriptions", "SubscriptionClient"),
    "resource": ("azure.mgmt.resource.resources", "ResourceManagementClient"),
    "compute": ("azure.mgmt.compute", "ComputeManagementClient"),
    "network": ("azure.mgmt.network", "NetworkManagementClient"),
    "storage": ("azure.mgmt.storage", "StorageManagementClient"),
    "keyvault": ("azure.mgmt.keyvault", "KeyVaultManagementClient"),
    "sql": ("azure.mgmt.sql", "SqlManagementClient"),
    "monitor": ("azure.mgmt.monitor", "MonitorManagementClient"),
    "authorization": ("azure.mgmt.authorization", "AuthorizationManagementClient"),
    "security": ("azure.mgmt.security", "SecurityCenter"),
    "containerservice": ("azure.mgmt.containerservice", "ContainerServiceClient"),
    "web": ("azure.mgmt.web", "WebSiteManagementClient"),
}

_THROTTLING_CODES = {"TooManyRequests", "ServerBusy", "ServiceUnavailable", "InternalServerError", "GatewayTimeout"}
_PERMISSION_CODES = {"AuthorizationFailed", "Forbidden", "LinkedAuthorizationFailed", "InsufficientPermissions"}
_CREDENTIAL_CODES = {"InvalidAuthenticationToken", "ExpiredAuthenticationToken", "InvalidAuthenticationTokenTenant"}


@dataclass(frozen=True)
class AzureSettings:
    """What a context needs besides the secret: non-secret settings stored in ``auth_settings``."""

    tenant_id: str
    client_id: str
    authority_host: str = PUBLIC_AUTHORITY
    arm_endpoint: str = PUBLIC_ARM
    ca_bundle: str | None = None  # PEM file to trust instead of the system store (private clouds, tests)
    retry_total: int = 3
    retry_backoff_factor: float = 0.8

    @classmethod
    def from_auth_settings(cls, auth_settings: dict) -> AzureSettings:
        try:
            return cls(
                tenant_id=auth_settings["tenant_id"],
                client_id=auth_settings["client_id"],
                authority_host=(auth_settings.get("authority_host") or PUBLIC_AUTHORITY).rstrip("/"),
                arm_endpoint=(auth_settings.get("arm_endpoint") or PUBLIC_ARM).rstrip("/"),
                ca_bundle=auth_settings.get("ca_bundle") or None,
                retry_total=int(auth_settings.get("retry_total", 3)),
                retry_backoff_factor=float(auth_settings.get("retry_backoff_factor", 0.8)),
            )
        except KeyError as exc:
            raise InvalidCredentials(f"Azure settings lack {exc.args[0]}") from None

    def transport_options(self) -> dict[str, Any]:
        """Keyword arguments every azure-core pipeline (identity and ARM) gets."""
        options: dict[str, Any] = {
            "retry_total": self.retry_total,
            "retry_backoff_factor": self.retry_backoff_factor,
            "connection_timeout": 10,
            "read_timeout": 120,
        }
        if self.ca_bundle:
            options["connection_verify"] = self.ca_bundle
        return options

    @property
    def credential_scope(self) -> str:
        return f"{self.arm_endpoint}/.default"


def make_credential(settings: AzureSettings, auth_type: str, credentials: dict) -> Any:
    """A ClientSecretCredential or CertificateCredential for the settings' authority."""
    from azure.identity import CertificateCredential, ClientSecretCredential

    common = {
        "authority": settings.authority_host,
        # Instance discovery asks login.microsoftonline.com about the authority: wrong for
        # sovereign clouds reached through their own host, and impossible offline.
        "disable_instance_discovery": True,
        **settings.transport_options(),
    }
    if auth_type == "client_secret":
        secret = credentials.get("client_secret")
        if not secret:
            raise InvalidCredentials("Azure client secret is empty")
        return ClientSecretCredential(settings.tenant_id, settings.client_id, secret, **common)
    if auth_type == "certificate":
        if credentials.get("certificate_pkcs12"):
            import base64

            data: Any = base64.b64decode(credentials["certificate_pkcs12"])
        else:
            data = credentials.get("certificate_pem")
        if not data:
            raise InvalidCredentials("Azure certificate is empty")
        password = credentials.get("certificate_password") or None
        try:
            return CertificateCredential(
                settings.tenant_id,
                settings.client_id,
                certificate_data=data.encode() if isinstance(data, str) else data,
                password=password.encode() if password else None,
                **common,
            )
        except ValueError as exc:
            raise InvalidCredentials(f"Azure certificate cannot be read: {exc}") from None
    raise InvalidCredentials(f"unknown Azure auth type {auth_type!r}; expected client_secret or certificate")


@dataclass
class AzureContext:
    """An authenticated service principal on one subscription (``account_id``)."""

    settings: AzureSettings
    credential: Any
    account_id: str = ""  # the subscription id
    tenant_id: str = ""
    regions_wanted: list[str] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def client(self, name: str) -> Any:
        """A cached ARM client (``compute``, ``network`` …) bound to this subscription."""
        with self._lock:
            if name not in self._clients:
                import importlib

                module_name, class_name = CLIENTS[name]
                cls = getattr(importlib.import_module(module_name), class_name)
                kwargs: dict[str, Any] = {
                    "base_url": self.settings.arm_endpoint,
                    "credential_scopes": [self.settings.credential_scope],
                    **self.settings.transport_options(),
                }
                if name == "subscriptions":
                    self._clients[name] = cls(self.credential, **kwargs)
                else:
                    self._clients[name] = cls(self.credential, self.account_id, **kwargs)
            return self._clients[name]

    @property
    def subscription_scope(self) -> str:
        return f"/subscriptions/{self.account_id}"


def wire(model: Any) -> dict:
    """An SDK model as the ARM JSON it came from (camelCase, nested ``properties``).

    azure-mgmt packages mix two model generations: typespec models are mappings over the wire
    JSON, msrest models serialize back to it. Collectors read one shape whatever the package.
    """
    if model is None:
        return {}
    if hasattr(model, "as_dict") and hasattr(model, "keys"):
        return model.as_dict()
    if hasattr(model, "serialize"):
        return model.serialize(keep_readonly=True)
    return dict(model)


def pages(iterable: Any) -> Iterator[list[dict]]:
    """Walk an ItemPaged page by page, each item as wire JSON (memory bounded by one page)."""
    for page in iterable.by_page():
        yield [wire(item) for item in page]


def items(iterable: Any) -> Iterator[dict]:
    for page in pages(iterable):
        yield from page


def get_or_none(call: Any, *args: Any, **kwargs: Any) -> dict | None:
    """A GET that may legitimately find nothing (a setting never configured)."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return wire(call(*args, **kwargs))
    except ResourceNotFoundError:
        return None


def parse_id(arm_id: str) -> dict[str, str]:
    """``/subscriptions/S/resourceGroups/RG/providers/NS/type/name`` -> {subscription, resource_group, name}."""
    parts = [p for p in (arm_id or "").split("/") if p]
    lowered = [p.lower() for p in parts]
    out = {"subscription": "", "resource_group": "", "name": parts[-1] if parts else ""}
    if "subscriptions" in lowered:
        out["subscription"] = parts[lowered.index("subscriptions") + 1]
    if "resourcegroups" in lowered:
        out["resource_group"] = parts[lowered.index("resourcegroups") + 1]
    return out


# --- errors ---------------------------------------------------------------------------


def status_code(exc: BaseException) -> int:
    return int(getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", 0) or 0)


def error_code(exc: BaseException) -> str:
    error = getattr(exc, "error", None)
    return getattr(error, "code", None) or ""


def describe(exc: BaseException) -> str:
    """One line for an operator: the status, ARM error code and message, never a traceback."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "response", None) is None:
        # azure-identity's refusal: "Authentication failed: AADSTS7000215: Invalid client secret …"
        return (str(exc.message or "").strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, HttpResponseError):
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) or exc.reason or "Error"
        message = getattr(error, "message", None) or ""
        return f"{status_code(exc) or ''} {code}: {message}".strip().splitlines()[0]
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


# azure-identity reports a token endpoint that answered 429/5xx without an OAuth error as "HTTP Error: 503".
_TOKEN_ENDPOINT_DOWN = re.compile(r"HTTP Error: (429|5\d\d)\b")


def is_transient(exc: BaseException) -> bool:
    """Throttling, 5xx and connection trouble are worth another try; the rest is not."""
    # azure.core is imported here, not at module level, so that registering the collectors in
    # the interface server loads no Azure SDK code.
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "response", None) is None:
        # Entra ID down is not a refused secret: the account must not be marked invalid for it.
        return bool(_TOKEN_ENDPOINT_DOWN.search(str(exc.message or "")))
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return True
    if isinstance(exc, HttpResponseError):
        status = status_code(exc)
        return status == 429 or status >= 500 or error_code(exc) in _THROTTLING_CODES
    return False


def classify(exc: BaseException) -> HarvestError:
    """Map an SDK exception to our error kinds (what the job and the cloud's status record)."""
    from azure.core.exceptions import ClientAuthenticationError

    if isinstance(exc, HarvestError):
        return exc
    status = status_code(exc)
    code = error_code(exc)
    if is_transient(exc):
        return TransientError(describe(exc))
    if isinstance(exc, ClientAuthenticationError) and status in (0, 400, 401):
        return InvalidCredentials(describe(exc))
    if code in _CREDENTIAL_CODES or status == 401:
        return InvalidCredentials(describe(exc))
    if code in _PERMISSION_CODES or status == 403:
        return PermissionDenied(describe(exc))
    return HarvestError(describe(exc))

"""App Service apps: HTTPS only, minimum TLS, FTP."""

from __future__ import annotations

from collections.abc import Iterator

from harvesters.azure.common import harvest_errors, in_region, props, record
from harvesters.azure.session import AzureContext, get_or_none, pages, parse_id
from harvesters.base import ResourceRecord, resource_type


@resource_type(
    "azure.web.site",
    resource_type="web_app",
    service="web",
    permissions=("Microsoft.Web/sites/read", "Microsoft.Web/sites/config/read"),
)
@harvest_errors
def collect_web_apps(ctx: AzureContext, region: str) -> Iterator[ResourceRecord]:
    """App Service and Function apps with their site configuration (TLS, FTP state, HTTP/2, remote debugging)."""
    web = ctx.client("web")
    for page in pages(web.web_apps.list()):
        for body in in_region(page, region):
            p = props(body)
            config = props(
                get_or_none(web.web_apps.get_configuration, parse_id(body["id"])["resource_group"], body["name"]) or {}
            )
            ftps_state = config.get("ftpsState")
            yield record(
                "web_app",
                "azure.web.site",
                region,
                body,
                {
                    "https_only": bool(p.get("httpsOnly")),
                    "min_tls_version": config.get("minTlsVersion"),
                    # Plain FTP is allowed only in the AllAllowed state; FtpsOnly and Disabled refuse it.
                    "ftp_enabled": (ftps_state or "AllAllowed").lower() == "allallowed" if config else None,
                    "ftps_state": ftps_state,
                    "http2_enabled": config.get("http20Enabled"),
                    "remote_debugging_enabled": config.get("remoteDebuggingEnabled"),
                    "client_cert_enabled": bool(p.get("clientCertEnabled")),
                    "kind": body.get("kind"),
                    "runtime": config.get("linuxFxVersion") or config.get("windowsFxVersion") or None,
                    "state": p.get("state"),
                    "default_host_name": p.get("defaultHostName"),
                    "managed_identity_type": (body.get("identity") or {}).get("type"),
                },
            )

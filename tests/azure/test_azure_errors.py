"""Paging, throttling, failures and proxies: the real azure-core pipeline against the fake."""

from __future__ import annotations

import pytest

from harvesters.base import GLOBAL, HarvestError, InvalidCredentials, PermissionDenied, TransientError, get_driver
from harvesters.base import with_backoff as backoff
from tests.azure.conftest import collect
from tests.azure.forward_proxy import ForwardProxy
from tests.fakes.azure_fake import SUB_PROD


def arm_gets(fake, fragment: str) -> list[str]:
    return [path for method, path in fake.requests if method == "GET" and fragment.lower() in path.lower()]


def test_listings_follow_next_link_and_keep_the_api_version(azure_fake, azure_ctx):
    azure_fake.page_size = 1
    disks = collect(azure_ctx, "azure.compute.disk", "eastus")
    assert set(disks) == {"vm-web_OsDisk", "vm-worker_OsDisk"}
    pages = arm_gets(azure_fake, "/providers/Microsoft.Compute/disks")
    assert len(pages) == 2 and "skiptoken=1" in pages[1] and "api-version=" in pages[1]


def test_every_type_is_complete_with_one_item_per_page(azure_fake, azure_ctx):
    from tests.azure.test_azure_collectors import harvest_everything

    azure_fake.page_size = 1
    paged = {(r.native_type, r.native_id): r.properties for r in harvest_everything(azure_ctx)}
    azure_fake.page_size = 100
    whole = {(r.native_type, r.native_id): r.properties for r in harvest_everything(azure_ctx)}
    assert paged == whole and len(whole) > 30


def test_brief_throttling_is_absorbed_by_the_sdk_retry_policy(azure_fake, azure_ctx):
    azure_fake.fail("/providers/Microsoft.Compute/disks", 429, times=2)
    assert set(collect(azure_ctx, "azure.compute.disk", "eastus")) == {"vm-web_OsDisk", "vm-worker_OsDisk"}
    assert len(arm_gets(azure_fake, "/providers/Microsoft.Compute/disks")) == 3


def test_lasting_throttling_is_transient_and_retried_with_backoff(azure_fake, azure_ctx):
    driver = get_driver("azure")
    azure_fake.fail("/providers/Microsoft.Compute/disks", 429, times=3)  # the first try and the SDK's 2 retries
    with pytest.raises(TransientError, match="429 TooManyRequests"):
        collect(azure_ctx, "azure.compute.disk", "eastus")
    azure_fake.fail("/providers/Microsoft.Compute/disks", 429, times=4)  # one more than one call absorbs
    slept: list[float] = []
    disks = backoff(
        lambda: collect(azure_ctx, "azure.compute.disk", "eastus"),
        is_transient=driver.is_transient,
        sleep=slept.append,
    )
    assert set(disks) == {"vm-web_OsDisk", "vm-worker_OsDisk"} and len(slept) == 1


def test_a_failure_on_a_later_page_raises_instead_of_a_partial_list(azure_fake, azure_ctx):
    azure_fake.page_size = 1
    azure_fake.fail("disks?api-version", 503, times=0)  # a no-op rule: only page 2 fails below
    azure_fake.fail("skiptoken=1", 503, times=10)
    seen = []
    with pytest.raises(TransientError, match="503"):
        for record in get_spec("azure.compute.disk").collect(azure_ctx, "eastus"):
            seen.append(record.name)
    assert seen == ["vm-web_OsDisk"]  # page 1 was yielded, then the listing failed loudly


def test_missing_permission_is_permission_denied(azure_fake, azure_ctx):
    azure_fake.fail("/providers/Microsoft.Web/sites", 403, times=1)
    with pytest.raises(PermissionDenied, match="AuthorizationFailed"):
        collect(azure_ctx, "azure.web.site", "eastus")
    assert not get_driver("azure").is_transient(PermissionDenied("x"))


def test_revoked_token_is_invalid_credentials(azure_fake, azure_ctx):
    azure_fake._tokens.clear()
    with pytest.raises(InvalidCredentials):
        collect(azure_ctx, "azure.resources.resource_group", GLOBAL)


def test_driver_classifies_sdk_errors(azure_fake, azure_ctx):
    from azure.core.exceptions import HttpResponseError, ServiceRequestError

    driver = get_driver("azure")
    assert driver.is_transient(ServiceRequestError("connection reset"))
    assert isinstance(driver.classify(ServiceRequestError("connection reset")), TransientError)
    azure_fake.fail("/resourcegroups", 400, times=1)
    try:
        list(azure_ctx.client("resource").resource_groups.list())
    except HttpResponseError as exc:
        error = driver.classify(exc)
    assert type(error) is HarvestError and not driver.is_transient(error)


def test_connect_with_a_wrong_secret_is_invalid_credentials(azure_fake, auth_settings):
    from harvesters.azure.driver import connect_subscription

    with pytest.raises(InvalidCredentials, match="AADSTS7000215"):
        connect_subscription("client_secret", auth_settings, {"client_secret": "nope"}, SUB_PROD)


def test_token_endpoint_outage_is_transient_not_invalid_credentials(azure_fake, auth_settings):
    from harvesters.azure.driver import connect_subscription

    azure_fake.fail("/oauth2/v2.0/token", 503, times=100)
    with pytest.raises(TransientError, match="503"):
        connect_subscription("client_secret", auth_settings, {"client_secret": "whatever"}, SUB_PROD)


def test_untrusted_certificate_is_refused_without_a_ca_bundle(azure_fake, auth_settings, monkeypatch):
    from harvesters.azure.driver import connect_subscription
    from tests.fakes.azure_fake import CLIENT_SECRET

    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    auth_settings.pop("ca_bundle")
    auth_settings["retry_total"] = 0
    with pytest.raises(HarvestError):
        connect_subscription("client_secret", auth_settings, {"client_secret": CLIENT_SECRET}, SUB_PROD)


def test_regions_are_the_locations_in_use_unless_configured(azure_ctx):
    driver = get_driver("azure")
    assert driver.regions(azure_ctx) == ["eastus", "westeurope"]
    azure_ctx.regions_wanted = ["West Europe"]
    assert driver.regions(azure_ctx) == ["westeurope"]


@pytest.fixture
def proxy():
    server = ForwardProxy().start()
    yield server
    server.stop()


def test_https_proxy_carries_token_and_arm_calls(azure_fake, auth_settings, proxy, monkeypatch):
    from harvesters.azure.driver import connect_subscription
    from tests.fakes.azure_fake import CLIENT_SECRET

    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("https_proxy", proxy.url)
    ctx = connect_subscription("client_secret", auth_settings, {"client_secret": CLIENT_SECRET}, SUB_PROD)
    assert set(collect(ctx, "azure.compute.disk", "eastus")) == {"vm-web_OsDisk", "vm-worker_OsDisk"}
    host = azure_fake.base_url.removeprefix("https://")
    assert proxy.tunnels and set(proxy.tunnels) == {host}


def test_no_proxy_bypasses_the_proxy(azure_fake, auth_settings, proxy, monkeypatch):
    from harvesters.azure.driver import connect_subscription
    from tests.fakes.azure_fake import CLIENT_SECRET

    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("https_proxy", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    ctx = connect_subscription("client_secret", auth_settings, {"client_secret": CLIENT_SECRET}, SUB_PROD)
    assert collect(ctx, "azure.compute.disk", "eastus")
    assert proxy.tunnels == []


def get_spec(native_type: str):
    from harvesters.base import resource_types_for

    return next(s for s in resource_types_for("azure") if s.native_type == native_type)

"""The GCP session and driver: keys, tokens, endpoints, paging, throttling, failures that raise."""

from __future__ import annotations

import pytest

from harvesters.base import (
    GLOBAL,
    HarvestError,
    InvalidCredentials,
    PermissionDenied,
    TransientError,
    get_driver,
    with_backoff,
)
from harvesters.gcp import compute, session, storage
from harvesters.gcp.driver import AUTH_TYPE
from insightcloud.inventory.models import CloudAccount


def cloud_for(fake, key, project="acme-prod", **settings) -> CloudAccount:
    """An unsaved CloudAccount as onboarding would store it (the driver needs no database)."""
    return CloudAccount(
        provider="gcp",
        name="prod",
        account_id=project,
        auth_type=AUTH_TYPE,
        auth_settings={"endpoint": fake.url, **settings},
        credentials={"service_account_key": key},
    )


# --- keys, tokens and endpoints ---------------------------------------------------------------


def test_the_driver_connects_a_cloud_account_with_the_fake_token_endpoint(gcp_fake, gcp_key, no_proxy_env):
    ctx = get_driver("gcp").connect(cloud_for(gcp_fake, gcp_key))
    assert ctx.account_id == "acme-prod"
    assert ctx.credentials.token.startswith("ya29.fake-")


def test_a_key_google_does_not_know_is_invalid_credentials(gcp_fake, gcp_key, no_proxy_env):
    gcp_fake.revoke(gcp_key)
    with pytest.raises(InvalidCredentials, match="invalid_grant"):
        get_driver("gcp").connect(cloud_for(gcp_fake, gcp_key))


def test_a_malformed_key_is_refused_without_echoing_it(gcp_fake, gcp_key, no_proxy_env):
    broken = {**gcp_key, "private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"}
    with pytest.raises(InvalidCredentials) as caught:
        get_driver("gcp").connect(cloud_for(gcp_fake, broken))
    assert "not a key" not in str(caught.value)
    with pytest.raises(ValueError, match="lacks private_key"):
        session.parse_key({"type": "service_account", "client_email": "a@b", "token_uri": "http://x"})
    with pytest.raises(ValueError, match="not valid JSON"):
        session.parse_key("{nope")


def test_an_unknown_auth_type_is_refused(gcp_fake, gcp_key):
    cloud = cloud_for(gcp_fake, gcp_key)
    cloud.auth_type = "api_key"
    with pytest.raises(InvalidCredentials, match="unsupported GCP auth type"):
        get_driver("gcp").connect(cloud)


def test_a_token_uri_setting_overrides_the_keys(gcp_fake, gcp_key, no_proxy_env):
    key = {**gcp_key, "token_uri": "http://127.0.0.1:9/nothing-listens-here"}
    ctx = get_driver("gcp").connect(cloud_for(gcp_fake, key, token_uri=gcp_fake.token_uri))
    assert ctx.credentials.token


def test_endpoints_include_each_apis_service_path():
    base = {"endpoint": "http://127.0.0.1:8080/"}
    assert session.api_endpoint("compute", base) == "http://127.0.0.1:8080/compute/v1/"
    assert session.api_endpoint("storage", base) == "http://127.0.0.1:8080/storage/v1/"
    assert session.api_endpoint("iam", base) == "http://127.0.0.1:8080/iam/"
    explicit = {**base, "endpoints": {"compute": "https://compute.example/compute/v1"}}
    assert session.api_endpoint("compute", explicit) == "https://compute.example/compute/v1/"
    assert session.api_endpoint("compute", {}) is None  # Google's own host


def test_the_driver_lists_the_regions_that_are_up(gcp_ctx):
    assert get_driver("gcp").regions(gcp_ctx) == ["asia-east1", "europe-west1", "us-central1"]


# --- paging -----------------------------------------------------------------------------------


def test_listings_follow_every_page(gcp_ctx, gcp_fake):
    firewalls = list(compute.collect_firewalls(gcp_ctx, GLOBAL))
    assert len(firewalls) == 6
    assert gcp_fake.count("/global/firewalls") == 3  # two per page
    assert gcp_fake.count("pageToken=4") == 1


def test_aggregated_listings_follow_every_page_once_per_harvest(gcp_ctx, gcp_fake):
    gcp_fake.page_size = 1
    names = [r.name for region in ("us-central1", "europe-west1") for r in compute.collect_instances(gcp_ctx, region)]
    assert sorted(names) == ["app-1", "batch-1", "web-1"]
    # one aggregatedList (three pages) served both regions
    assert gcp_fake.count("/aggregated/instances") == 3


def test_a_second_harvest_on_the_same_context_sees_changes(gcp_ctx, gcp_fake):
    assert {r.name for r in compute.collect_instances(gcp_ctx, "us-central1")} == {"web-1", "batch-1"}
    gcp_fake.project("acme-prod")["instances"].pop(0)
    assert {r.name for r in compute.collect_instances(gcp_ctx, "us-central1")} == {"batch-1"}


def test_a_repeated_page_token_is_an_error_not_an_endless_loop(gcp_ctx, gcp_fake, monkeypatch):
    from tests.fakes import gcp_fake as fake_module

    original = fake_module._Handler._page

    def stuck(self, query, items, key, size_param="maxResults", **extra):
        query = {**query, "pageToken": "0"}
        return original(self, query, items, key, size_param, **extra)

    monkeypatch.setattr(fake_module._Handler, "_page", stuck)
    with pytest.raises(HarvestError, match="repeated page token"):
        list(compute.collect_firewalls(gcp_ctx, GLOBAL))


# --- throttling and failures ----------------------------------------------------------------------


def test_throttling_is_retried_with_backoff_inside_the_listing(gcp_ctx, gcp_fake, recording_sleep):
    gcp_fake.fail("/global/firewalls", 429, times=2)
    assert len(list(compute.collect_firewalls(gcp_ctx, GLOBAL))) == 6
    assert len(recording_sleep.delays) == 2


def test_a_5xx_on_a_later_page_is_retried_without_restarting_the_listing(gcp_ctx, gcp_fake):
    gcp_fake.fail("pageToken=2", 503, times=1)
    assert len(list(compute.collect_firewalls(gcp_ctx, GLOBAL))) == 6
    assert gcp_fake.count("/global/firewalls?") == 4  # page 1, page 2 (503), page 2, page 3


def test_the_harvest_level_backoff_retries_what_the_driver_calls_transient(gcp_ctx, gcp_fake, recording_sleep):
    gcp_ctx.page_attempts = 1  # no retry inside the listing: the error reaches the harvest
    gcp_fake.fail("/storage/v1/b", 429, times=2)
    driver = get_driver("gcp")
    records = with_backoff(
        lambda: list(storage.collect_buckets(gcp_ctx, GLOBAL)), is_transient=driver.is_transient, sleep=recording_sleep
    )
    assert len(records) == 3 and len(recording_sleep.delays) == 2


def test_a_listing_that_keeps_failing_raises_a_transient_harvest_error(gcp_ctx, gcp_fake):
    gcp_fake.fail("pageToken=2", 500, times=10)
    collected = []
    with pytest.raises(TransientError, match="HTTP 500"):
        for record in compute.collect_firewalls(gcp_ctx, GLOBAL):
            collected.append(record)
    assert len(collected) == 2  # the first page; the caller knows the listing is incomplete


def test_a_failed_aggregated_listing_raises_for_every_region_and_is_not_cached(gcp_ctx, gcp_fake):
    gcp_fake.fail("/aggregated/disks", 500, times=4)
    with pytest.raises(TransientError):
        list(compute.collect_disks(gcp_ctx, "us-central1"))
    assert {r.name for r in compute.collect_disks(gcp_ctx, "us-central1")} == {"web-1", "orphan"}


def test_forbidden_is_permission_denied_and_not_retried(gcp_ctx, gcp_fake, recording_sleep):
    gcp_fake.fail("/sqladmin/", 403, times=1)
    from harvesters.gcp import sql

    with pytest.raises(PermissionDenied, match="HTTP 403"):
        list(sql.collect_sql_instances(gcp_ctx, "us-central1"))
    assert recording_sleep.delays == []
    assert not get_driver("gcp").is_transient(PermissionDenied("x"))


def test_an_expired_token_is_refreshed_and_the_call_goes_on(gcp_ctx, gcp_fake):
    gcp_fake.fail("/global/networks", 401, times=1)
    assert len(list(compute.collect_networks(gcp_ctx, GLOBAL))) == 3


def test_a_key_revoked_mid_harvest_is_invalid_credentials(gcp_ctx, gcp_fake, gcp_key, recording_sleep):
    gcp_fake.revoke(gcp_key)  # its tokens stop working and no new one is issued
    with pytest.raises(InvalidCredentials, match="invalid_grant"):
        list(compute.collect_networks(gcp_ctx, GLOBAL))
    assert recording_sleep.delays == []


def test_errors_are_classified_in_one_line_without_secrets(gcp_ctx, gcp_fake, gcp_key):
    gcp_fake.fail("/global/images", 500, times=10)
    with pytest.raises(TransientError) as caught:
        list(compute.collect_images(gcp_ctx, GLOBAL))
    message = str(caught.value)
    assert "\n" not in message and gcp_ctx.credentials.token not in message
    assert gcp_key["private_key"][40:80] not in message
    assert get_driver("gcp").classify(caught.value) is caught.value


def test_a_403_rate_limit_is_retried_like_a_429(gcp_ctx, gcp_fake, recording_sleep):
    gcp_fake.fail("/global/snapshots?", 403, times=1, reason="rateLimitExceeded")
    assert len(list(compute.collect_snapshots(gcp_ctx, GLOBAL))) == 2
    assert len(recording_sleep.delays) == 1


def test_an_api_not_enabled_in_the_project_says_so(gcp_ctx, gcp_fake):
    gcp_fake.fail("/container/", 403, times=1, reason="accessNotConfigured")
    from harvesters.gcp import container

    with pytest.raises(PermissionDenied, match="API not enabled"):
        list(container.collect_clusters(gcp_ctx, "us-central1"))


def test_onboarding_names_the_same_apis_as_the_session():
    from harvesters.gcp import onboard

    assert tuple(session.APIS) == onboard.API_NAMES


def test_registering_the_gcp_harvesters_does_not_load_the_google_sdk():
    """The interface server imports every plug-in module; googleapiclient must stay unloaded there."""
    import subprocess
    import sys

    from tests.processes import ROOT, process_env

    code = "\n".join(
        [
            "import sys, django",
            "django.setup()",
            "from insightcloud.registry import registry",
            "with registry.unlocked():",
            "    from harvesters import gcp",
            "    gcp.load()",
            "assert 'gcp.compute.instance' in registry.names('resource_types')",
            "assert 'gcp' in registry.names('clouds')",
            "sdk = ('googleapiclient', 'google.auth', 'google.oauth2', 'httplib2')",
            "print(sorted(m for m in sdk if m in sys.modules))",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=process_env(DJANGO_SETTINGS_MODULE="insightcloud.settings"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_sovereign_universe_key_signs_its_own_tokens_and_reaches_the_apis(gcp_fake, no_proxy_env):
    key = gcp_fake.service_account_key(universe_domain="sovereign.example")
    ctx = get_driver("gcp").connect(cloud_for(gcp_fake, key))
    assert len(list(compute.collect_firewalls(ctx, GLOBAL))) == 6
    assert gcp_fake.token_requests == 0  # self-signed JWT access: no token endpoint in that universe
    assert ctx.api("storage")._universe_domain == "sovereign.example"


def test_without_an_endpoint_a_sovereign_universe_uses_its_own_hosts(gcp_fake):
    key = gcp_fake.service_account_key(universe_domain="sovereign.example")
    ctx = session.GcpContext(account_id="p", credentials=session.credentials_from(key, {}))
    assert ctx.api("compute")._baseUrl == "https://compute.sovereign.example/compute/v1/"

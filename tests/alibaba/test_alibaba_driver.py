"""The Alibaba driver against the fake: credentials, roles, regions, endpoints, proxies, retries."""

from __future__ import annotations

import pytest

from harvesters.alibaba import driver
from harvesters.alibaba.ecs import collect_instances
from harvesters.base import AssumeRoleFailed, HarvestError, InvalidCredentials, TransientError, get_driver
from tests.alibaba.conftest import GOOD_CREDENTIALS, fake_settings
from tests.alibaba.recording_proxy import RecordingProxy
from tests.fakes.alibaba_fake import ACCOUNT_ID, GOOD_KEY_ID, ROLE_ARN


def test_valid_access_key_connects_and_names_the_account(alibaba_fake):
    ctx = driver.connect("access_key", fake_settings(alibaba_fake), GOOD_CREDENTIALS)

    assert ctx.account_id == ACCOUNT_ID
    assert ctx.arn.endswith(":user/auditor")
    assert ("sts", "GetCallerIdentity") in [(p, a) for p, a, _ in alibaba_fake.calls]


def test_unknown_access_key_is_refused_as_invalid_credentials(alibaba_fake):
    with pytest.raises(InvalidCredentials, match="InvalidAccessKeyId.NotFound"):
        driver.connect(
            "access_key", fake_settings(alibaba_fake), {"access_key_id": "LTAInope", "access_key_secret": "x"}
        )


def test_wrong_secret_fails_the_signature_check(alibaba_fake):
    bad = {"access_key_id": GOOD_KEY_ID, "access_key_secret": "not-the-secret"}
    with pytest.raises(InvalidCredentials, match="AccessKeySecret is incorrect"):
        driver.connect("access_key", fake_settings(alibaba_fake), bad)


def test_missing_secret_is_refused_before_any_call(alibaba_fake):
    with pytest.raises(InvalidCredentials, match="AccessKey id and secret"):
        driver.connect("access_key", fake_settings(alibaba_fake), {"access_key_id": GOOD_KEY_ID})
    assert alibaba_fake.calls == []


def test_role_is_assumed_and_its_temporary_credentials_are_used(alibaba_fake):
    ctx = driver.connect("assume_role", fake_settings(alibaba_fake, role_arn=ROLE_ARN), GOOD_CREDENTIALS)

    assert ctx.arn.startswith(f"acs:ram::{ACCOUNT_ID}:assumed-role/insightcloud-audit/")
    assert ctx.credentials.access_key_id.startswith("STS.")
    driver.list_regions(ctx)
    last = alibaba_fake.calls[-1][2]
    assert last["AccessKeyId"] == ctx.credentials.access_key_id
    assert last["SecurityToken"] == ctx.credentials.security_token


def test_unknown_role_is_reported_as_assume_role_failure(alibaba_fake):
    settings = fake_settings(alibaba_fake, role_arn=f"acs:ram::{ACCOUNT_ID}:role/missing")
    with pytest.raises(AssumeRoleFailed, match="EntityNotExist.Role"):
        driver.connect("assume_role", settings, GOOD_CREDENTIALS)


def test_driver_is_registered_and_lists_available_regions(alibaba_fake, alibaba_ctx):
    alibaba_fake.state["regions"].append({"RegionId": "cn-closed", "LocalName": "Closed", "Status": "soldOut"})

    regions = get_driver("alibaba").regions(alibaba_ctx)

    assert regions == ["cn-hangzhou", "cn-shanghai"]


def test_throttled_calls_are_retried_with_backoff(alibaba_fake, alibaba_ctx):
    alibaba_fake.fail("DescribeInstances", status=400, times=2, code="Throttling.User")
    alibaba_fake.fail("DescribeInstanceRamRole", status=503, times=1)

    records = list(collect_instances(alibaba_ctx, "cn-hangzhou"))

    assert len(records) == 3
    assert alibaba_fake.actions("ecs").count("DescribeInstances") == 3


def test_persistent_5xx_raises_a_transient_harvest_error(alibaba_fake, alibaba_ctx):
    alibaba_fake.fail("DescribeInstances", status=500, times=10, code="InternalError")

    with pytest.raises(TransientError, match="InternalError"):
        list(collect_instances(alibaba_ctx, "cn-hangzhou"))
    assert alibaba_fake.actions("ecs").count("DescribeInstances") == alibaba_ctx.attempts


def test_a_listing_failing_on_a_later_page_raises_instead_of_returning_part(alibaba_fake, alibaba_ctx):
    alibaba_fake.max_page_size = 1
    listing = collect_instances(alibaba_ctx, "cn-hangzhou")
    first = next(listing)
    alibaba_fake.fail("DescribeInstances", status=503, times=10)

    with pytest.raises(HarvestError):
        list(listing)
    assert first.native_id == "i-public"


def test_errors_are_classified_into_harvest_error_kinds():
    from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException

    assert isinstance(driver.classify(ServerException("InvalidAccessKeyId.NotFound", "x", 404)), InvalidCredentials)
    assert type(driver.classify(ServerException("Forbidden.RAM", "x", 403))).__name__ == "PermissionDenied"
    assert driver.is_transient(ServerException("Throttling.User", "x", 400))
    assert driver.is_transient(ServerException("Whatever", "x", 502))
    assert driver.is_transient(ClientException("SDK.HttpError", "connection reset"))
    assert not driver.is_transient(ServerException("InvalidParameter", "x", 400))
    assert type(driver.classify(ServerException("InvalidParameter", "x", 400))) is HarvestError


def test_product_endpoint_overrides_take_the_region():
    ctx = driver.AlibabaContext(
        credentials=driver.Credentials("id", "secret"),
        endpoints={"ecs": "https://ecs.{region}.example.com", "oss": "https://oss-{region}.example.com"},
    )

    assert ctx.endpoint("Ecs", "cn-beijing") == "https://ecs.cn-beijing.example.com"
    assert ctx.endpoint("Rds", "cn-beijing") is None  # the SDK's own endpoint data decides
    assert ctx.oss_endpoint("oss-cn-beijing") == "https://oss-cn-beijing.example.com"
    assert driver.AlibabaContext(driver.Credentials("i", "s")).oss_endpoint("cn-shanghai") == (
        "https://oss-cn-shanghai.aliyuncs.com"
    )


def test_only_one_product_can_be_sent_to_an_override(alibaba_fake):
    settings = {"endpoints": {"sts": alibaba_fake.url, "ecs": alibaba_fake.url}, "retry_base_delay": 0.001}
    ctx = driver.connect("access_key", settings, GOOD_CREDENTIALS)

    assert driver.list_regions(ctx)


def test_no_proxy_is_honoured_although_the_sdk_ignores_it(monkeypatch):
    monkeypatch.setenv("https_proxy", "http://proxy.corp:3128")
    monkeypatch.setenv("http_proxy", "http://proxy.corp:3128")
    monkeypatch.setenv("no_proxy", ".internal.example,10.0.0.0/8")

    assert driver.proxy_for("https://ecs.cn-hangzhou.aliyuncs.com/") == "http://proxy.corp:3128"
    assert driver.proxy_for("https://ecs.internal.example/") is None
    assert driver.proxy_for("http://10.1.2.3:8080/") is None
    assert driver.acs_proxy_setting("https://ecs.internal.example/") == {"http": None, "https": None}


def test_rpc_and_oss_calls_go_through_the_proxy_unless_no_proxy_matches(alibaba_fake, monkeypatch):
    proxy = RecordingProxy()
    try:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        via_name = f"http://localhost:{alibaba_fake.port}"

        proxied = driver.connect("access_key", {"endpoint_url": via_name}, GOOD_CREDENTIALS)
        list(proxied.oss_service().list_buckets().buckets)
        assert any("Action=GetCallerIdentity" in url for url in proxy.seen)
        assert any(url.startswith(via_name) and "Action" not in url for url in proxy.seen)

        proxy.seen.clear()
        direct = driver.connect("access_key", {"endpoint_url": alibaba_fake.url}, GOOD_CREDENTIALS)
        driver.list_regions(direct)
        list(direct.oss_service().list_buckets().buckets)
        assert proxy.seen == []
    finally:
        proxy.stop()


def test_expiring_role_credentials_are_renewed_before_a_call(alibaba_fake):
    import time

    ctx = driver.connect("assume_role", fake_settings(alibaba_fake, role_arn=ROLE_ARN), GOOD_CREDENTIALS)
    first_key = ctx.credentials.access_key_id
    ctx.credentials.expires_at = time.time() + 60  # inside the five-minute margin

    driver.list_regions(ctx)

    assert ctx.credentials.access_key_id != first_key
    assert alibaba_fake.calls[-1][2]["AccessKeyId"] == ctx.credentials.access_key_id
    assert alibaba_fake.actions("sts").count("AssumeRole") == 2


def test_fake_serves_new_style_calls_with_the_action_in_a_header(alibaba_fake):
    import json
    import urllib.request

    def call(key_id: str) -> tuple[int, dict]:
        request = urllib.request.Request(
            alibaba_fake.url + "/?RegionId=cn-hangzhou",
            method="POST",
            headers={
                "x-acs-action": "DescribeRegions",
                "x-acs-version": "2014-05-26",
                "Authorization": f"ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders=host,Signature=abc",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    status, body = call(GOOD_KEY_ID)
    assert status == 200 and body["RequestId"] and len(body["Regions"]["Region"]) == 2
    status, body = call("LTAIunknown")
    assert status == 404 and body["Code"] == "InvalidAccessKeyId.NotFound"


def test_an_unanswering_sts_is_transient_not_invalid_credentials(alibaba_fake):
    alibaba_fake.fail("GetCallerIdentity", status=503, times=100)

    with pytest.raises(TransientError, match="did not answer"):
        driver.connect("access_key", fake_settings(alibaba_fake), GOOD_CREDENTIALS)


def test_an_unreachable_endpoint_is_transient(no_proxy_env):
    from tests.processes import free_port

    settings = {"endpoint_url": f"http://127.0.0.1:{free_port()}", "retry_base_delay": 0.001, "attempts": 2}
    with pytest.raises(TransientError):
        driver.connect("access_key", settings, GOOD_CREDENTIALS)

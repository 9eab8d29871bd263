"""Sentry: errors reach the configured endpoint with job kind and cloud id, and secrets do not."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from insightcloud.crypto import SecretDict
from insightcloud.sentry import FILTERED, process_kind, scrub
from tests.fakes.forward_proxy import ProxiedRequest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
DB_PASSWORD = "db-pass-Zq8!x"

WORKER_SCRIPT = textwrap.dedent(
    f"""
    import django, logging, sentry_sdk
    django.setup()
    from insightcloud.crypto import SecretDict
    from insightcloud.sentry import sentry_tags

    def harvest(cloud_id):
        credentials = SecretDict({{"access_key_id": "AKIDEXAMPLE", "secret_access_key": "{SECRET}"}})
        aws_secret = "{SECRET}"
        note = "signing with " + credentials["secret_access_key"]
        raise RuntimeError("AccessDenied while listing buckets")

    sentry_sdk.set_extra("api_token", "{SECRET}")
    sentry_sdk.set_extra("region", "eu-west-1")
    sentry_sdk.add_breadcrumb(category="aws", message="assume role", data={{"password": "{SECRET}", "role": "audit"}})
    logging.getLogger("harvest").warning("connecting with db password {DB_PASSWORD}")
    try:
        with sentry_tags("harvest", 42):
            harvest(42)
    except RuntimeError:
        pass
    sentry_sdk.flush(5)
    """
)


def run_with_sentry(dsn: str, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")} | extra
    env |= {"DJANGO_SETTINGS_MODULE": "insightcloud.settings", "SENTRY_DSN": dsn, "SENTRY_ENVIRONMENT": "test"}
    env |= {"DIVVY_DB_PASSWORD": DB_PASSWORD}
    return subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_an_error_is_reported_with_job_kind_and_cloud_id_and_no_secrets(fake_sentry):
    result = run_with_sentry(fake_sentry.dsn)
    assert result.returncode == 0, result.stderr
    events = fake_sentry.events()
    assert len(events) == 1, [e.get("exception") for e in events]
    event = events[0]
    assert event["tags"]["job_kind"] == "harvest"
    assert event["tags"]["cloud_id"] == "42"
    assert event["environment"] == "test"
    assert event["exception"]["values"][0]["value"] == "AccessDenied while listing buckets"
    # The report is useful (locals and breadcrumbs are there) …
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert frame["function"] == "harvest"
    assert frame["vars"]["cloud_id"] == "42"
    assert frame["vars"]["credentials"] == FILTERED or set(frame["vars"]["credentials"].values()) == {FILTERED}
    assert frame["vars"]["aws_secret"] == FILTERED
    assert event["extra"]["api_token"] == FILTERED
    assert event["extra"]["region"] == "eu-west-1"
    crumbs = event["breadcrumbs"]["values"]
    assert any(c.get("data", {}).get("role") == "audit" for c in crumbs)
    # … and not one secret appears anywhere in what was sent.
    raw = b"".join(fake_sentry.envelopes)
    assert SECRET.encode() not in raw
    assert DB_PASSWORD.encode() not in raw
    assert b"signing with [Filtered]" in raw


def test_without_a_dsn_nothing_is_sent_and_sentry_tags_is_harmless():
    from insightcloud.sentry import sentry_tags

    with sentry_tags("evaluate", None):
        value = 1 + 1
    assert value == 2


def test_scrub_filters_sensitive_keys_secret_dicts_and_known_values():
    data = {
        "Authorization": "Bearer abc",
        "client_secret": "s3",
        "password": "p",
        "nested": [{"refresh_token": "t", "name": "ok"}],
        "creds": SecretDict({"tenant": "t1", "value": "v"}),
        "message": "token is hunter22 here",
    }
    assert scrub(data, {"hunter22"}) == {
        "Authorization": FILTERED,
        "client_secret": FILTERED,
        "password": FILTERED,
        "nested": [{"refresh_token": FILTERED, "name": "ok"}],
        "creds": {"tenant": FILTERED, "value": FILTERED},
        "message": f"token is {FILTERED} here",
    }


def test_process_kind_names_the_manage_command():
    assert process_kind(["manage.py", "worker", "--queues", "p0"]) == "worker"
    assert process_kind(["/opt/insightcloud/app/manage.py", "interfaceserver"]) == "interfaceserver"
    assert process_kind(["-c"]) == "other"


def test_reports_go_through_the_outbound_proxy_with_its_credentials(fake_sentry, authenticating_proxy):
    result = run_with_sentry(fake_sentry.dsn, http_proxy=authenticating_proxy.url_with_credentials)
    assert result.returncode == 0, result.stderr
    assert len(fake_sentry.events()) == 1
    forwarded = [r for r in authenticating_proxy.requests if r.status == 200]
    assert forwarded and all(isinstance(r, ProxiedRequest) and r.user == "scanner" for r in forwarded)
    assert {r.port for r in forwarded} == {fake_sentry.port}


def test_reports_bypass_the_proxy_for_hosts_in_no_proxy(fake_sentry, forward_proxy):
    result = run_with_sentry(fake_sentry.dsn, http_proxy=forward_proxy.url, no_proxy="sentry.internal,127.0.0.0/8")
    assert result.returncode == 0, result.stderr
    assert len(fake_sentry.events()) == 1
    assert forward_proxy.requests == []

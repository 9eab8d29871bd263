"""manage.py preflight: each check's pass and fail paths, in plain words, exit code 1 on a failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from insightcloud.management.commands.preflight import (
    check_disk,
    check_env_file,
    check_https,
    judge_clock,
    judge_database_version,
    judge_redis_version,
)
from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# --- database and Redis versions -------------------------------------------------------------


@pytest.mark.parametrize("version", ["8.0.36", "8.4.0-log", "10.11.19-MariaDB-0+deb12u1", "11.4.2-MariaDB"])
def test_supported_database_versions_pass(version):
    assert judge_database_version(version).status == "OK"


def test_old_mysql_fails_and_says_what_is_needed():
    result = judge_database_version("5.7.44-log")
    assert (result.status, result.message) == ("FAIL", "MySQL 5.7.44 is too old: InsightCloud needs MySQL 8.0 or newer")


def test_old_mariadb_fails():
    assert judge_database_version("10.6.12-MariaDB").message.startswith("MariaDB 10.6.12 is too old")


def test_redis_6_and_7_pass_and_5_fails():
    assert judge_redis_version("7.0.15").status == "OK"
    assert judge_redis_version("6.2.0").status == "OK"
    assert judge_redis_version("5.0.7").message == "Redis 5.0.7 is too old: InsightCloud needs Redis 6 or newer"


def run_preflight(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DIVVY_", "INSIGHTCLOUD_"))}
    base |= {
        "INSIGHTCLOUD_SECRET_KEY": "test",
        "INSIGHTCLOUD_ENCRYPTION_KEY": "Oji09HNzTXjtDUaE8_89Mq831j0ryp_uXVQ4zZWqWoQ=",
        "INSIGHTCLOUD_DATA_DIR": os.environ.get("INSIGHTCLOUD_DATA_DIR", str(ROOT / "var")),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "preflight", "--skip-network", "--min-free-gb", "0", *args],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unreachable_database_fails_in_plain_words():
    port = free_port()
    result = run_preflight(DIVVY_DB_HOST="127.0.0.1", DIVVY_DB_PORT=str(port))
    assert result.returncode == 1
    assert f"FAIL  database: cannot reach the database at 127.0.0.1:{port}" in result.stdout


def test_an_unreachable_redis_fails_in_plain_words():
    port = free_port()
    result = run_preflight(DIVVY_REDIS_HOST="127.0.0.1", DIVVY_REDIS_PORT=str(port))
    assert result.returncode == 1
    assert f"FAIL  redis: cannot reach Redis at 127.0.0.1:{port}" in result.stdout


@pytest.mark.django_db
def test_the_configured_database_and_redis_pass(capsys):
    from django.conf import settings

    call_command("preflight", "--skip-network", "--min-free-gb", "0")
    out = capsys.readouterr().out
    if settings.EMBEDDED_DB:
        assert "WARN  database: embedded SQLite file" in out
    else:
        assert "OK    database: " in out
        assert "OK    time: this host's clock is within" in out
    if settings.EMBEDDED_BROKER:
        assert "WARN  redis: no DIVVY_REDIS_HOST" in out
    else:
        assert "OK    redis: Redis " in out
    assert out.rstrip().endswith("preflight: ready (with warnings)")


# --- disk, clock, env file -------------------------------------------------------------------


def test_enough_disk_passes_and_too_little_fails(tmp_path):
    assert check_disk(tmp_path, 0.001).status == "OK"
    result = check_disk(tmp_path, 10**9)
    assert result.status == "FAIL"
    assert "GB free in" in result.message and "at least 1e+09 GB needed" in result.message


def test_clock_within_the_limit_passes_and_far_off_says_how_far():
    assert judge_clock(0.3, 5).status == "OK"
    result = judge_clock(-42.0, 5)
    assert result.status == "FAIL"
    assert result.message.startswith("this host's clock is 42.0 s behind the database server's")
    assert "45.5 s ahead of" in judge_clock(45.5, 5).message


def test_private_env_file_passes_and_readable_one_warns(tmp_path):
    env_file = tmp_path / "prod.env"
    env_file.write_text("INSIGHTCLOUD_SECRET_KEY=x\n")
    env_file.chmod(0o600)
    assert check_env_file(env_file).status == "OK"
    env_file.chmod(0o644)
    result = check_env_file(env_file)
    assert result.status == "WARN"
    assert result.message == f"{env_file} holds secrets but is readable by others (mode 0644): chmod 600 {env_file}"
    env_file.chmod(0o640)
    assert "readable by its group" in check_env_file(env_file).message


def test_the_command_warns_about_a_world_readable_env_file(tmp_path):
    env_file = tmp_path / "prod.env"
    env_file.write_text("INSIGHTCLOUD_LOG_LEVEL=INFO\n")
    env_file.chmod(0o644)
    result = run_preflight(INSIGHTCLOUD_ENV_FILE=str(env_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARN  env file: " in result.stdout and "readable by others" in result.stdout


# --- outbound HTTPS --------------------------------------------------------------------------


def test_https_target_answers_directly(https_target):
    url, ca_file = https_target
    result = check_https(url, timeout=3, ca_file=ca_file)
    assert (result.status, result.message) == ("OK", f"{url[8:-1]} answers over HTTPS directly (HTTP 200)")


def test_https_goes_through_the_configured_proxy(https_target, forward_proxy, monkeypatch):
    url, ca_file = https_target
    monkeypatch.setenv("https_proxy", forward_proxy.url)
    result = check_https(url, timeout=3, ca_file=ca_file)
    assert result.status == "OK"
    assert f"through the proxy {forward_proxy.url}" in result.message
    assert [(r.method, r.host) for r in forward_proxy.requests] == [("CONNECT", "127.0.0.1")]


def test_a_proxy_wanting_credentials_fails_with_advice(https_target, authenticating_proxy, monkeypatch):
    url, ca_file = https_target
    monkeypatch.setenv("https_proxy", authenticating_proxy.url)
    result = check_https(url, timeout=3, ca_file=ca_file)
    assert result.status == "FAIL"
    assert "the proxy wants a user and password" in result.message


def test_proxy_credentials_from_the_url_are_used(https_target, authenticating_proxy, monkeypatch):
    url, ca_file = https_target
    monkeypatch.setenv("https_proxy", authenticating_proxy.url_with_credentials)
    result = check_https(url, timeout=3, ca_file=ca_file)
    assert result.status == "OK", result.message
    assert "***" in result.message and "p@ss" not in result.message  # the password is never shown


def test_an_untrusted_certificate_fails(https_target):
    url, _ = https_target
    result = check_https(url, timeout=3)
    assert result.status == "FAIL" and "certificate is not trusted" in result.message


@pytest.mark.django_db
def test_an_unreachable_host_fails_fast_and_the_command_exits_non_zero(capsys):
    url = f"https://127.0.0.1:{free_port()}/"
    with pytest.raises(CommandError, match="check\\(s\\) failed"):
        call_command("preflight", "--https-target", url, "--timeout", "2", "--min-free-gb", "0")
    assert f"FAIL  https: cannot reach 127.0.0.1:{url.split(':')[-1].rstrip('/')} directly" in capsys.readouterr().out

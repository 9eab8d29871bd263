"""Settings come from the environment and the env file, through helpers that refuse bad values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from insightcloud.env import Env, SettingError, parse_env_file
from tests.processes import ROOT

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; import os; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'db_name': str(s.DATABASES['default']['NAME']), "
    "'broker': s.CELERY_BROKER_URL, 'transport': getattr(s, 'CELERY_BROKER_TRANSPORT', None), "
    "'log_level': s.LOG_LEVEL, 'https_proxy': os.environ.get('https_proxy'), "
    "'hosts': s.ALLOWED_HOSTS, 'data_dir': str(s.DATA_DIR)}))"
)


def clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """An environment with none of our variables set: what a fresh machine has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIVVY_", "INSIGHTCLOUD_", "SENTRY_"))}
    env.pop("https_proxy", None)
    env.update(
        {"DJANGO_SETTINGS_MODULE": "insightcloud.settings", "INSIGHTCLOUD_ENV_FILE": "none"},
        INSIGHTCLOUD_DATA_DIR=str(tmp_path / "data"),
    )
    env.update(overrides)
    return env


def probe_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)


def run_manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_embedded_defaults_are_chosen_when_nothing_is_configured(tmp_path):
    result = probe_settings(clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["db_name"] == str(tmp_path / "data" / "insightcloud.sqlite3")
    assert values["broker"] == "filesystem://"


def test_external_database_and_redis_are_used_when_configured(tmp_path):
    env = clean_env(
        tmp_path,
        DIVVY_DB_HOST="db.example",
        DIVVY_DB_NAME="divvy",
        DIVVY_REDIS_HOST="redis.example",
        DIVVY_REDIS_PASSWORD="pw",
        INSIGHTCLOUD_SECRET_KEY="k",
        INSIGHTCLOUD_ENCRYPTION_KEY="Oji09HNzTXjtDUaE8_89Mq831j0ryp_uXVQ4zZWqWoQ=",
    )
    values = json.loads(probe_settings(env).stdout)
    assert values["engine"] == "django.db.backends.mysql"
    assert values["db_name"] == "divvy"
    assert values["broker"] == "redis://:pw@redis.example:6379/0"
    assert values["transport"] == "insightcloud.broker:Transport"
    stock = json.loads(probe_settings({**env, "INSIGHTCLOUD_BROKER_TRANSPORT": "kombu"}).stdout)
    assert stock["transport"] == "redis"


def test_a_bad_port_is_one_line_naming_the_variable_and_a_non_zero_exit(tmp_path):
    result = run_manage(clean_env(tmp_path, DIVVY_DB_PORT="abc"), "check")
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: DIVVY_DB_PORT: expected a whole number, got 'abc'"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DIVVY_REDIS_PORT", "70000", "DIVVY_REDIS_PORT: must be at most 65535"),
        ("INSIGHTCLOUD_DEBUG", "maybe", "INSIGHTCLOUD_DEBUG: expected true or false"),
        ("INSIGHTCLOUD_LOG_LEVEL", "LOUD", "INSIGHTCLOUD_LOG_LEVEL: expected one of DEBUG, INFO"),
        ("INSIGHTCLOUD_BROKER_TRANSPORT", "rabbit", "INSIGHTCLOUD_BROKER_TRANSPORT: expected one of insightcloud"),
        ("INSIGHTCLOUD_ENCRYPTION_KEY", "not-a-key", "INSIGHTCLOUD_ENCRYPTION_KEY: not a Fernet key"),
        ("INSIGHTCLOUD_ENV_FILE", "/nonexistent/prod.env", "INSIGHTCLOUD_ENV_FILE: no such file"),
    ],
)
def test_each_bad_value_is_refused_with_the_variable_name(tmp_path, variable, value, message):
    result = run_manage(clean_env(tmp_path, **{variable: value}), "check")
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_external_database_requires_shared_keys(tmp_path):
    result = run_manage(clean_env(tmp_path, DIVVY_DB_HOST="db.example"), "check")
    assert result.returncode == 2
    assert "INSIGHTCLOUD_SECRET_KEY: required when DIVVY_DB_HOST is set" in result.stderr


def test_the_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / "prod.env"
    env_file.write_text(
        "# InsightCloud\n"
        "export INSIGHTCLOUD_LOG_LEVEL=WARNING\n"
        "INSIGHTCLOUD_ALLOWED_HOSTS='cspm.acme.example, localhost'\n"
        "https_proxy=http://proxy.acmecorp.com:3128\n"
    )
    values = json.loads(probe_settings(clean_env(tmp_path, INSIGHTCLOUD_ENV_FILE=str(env_file))).stdout)
    assert values["log_level"] == "WARNING"
    assert values["hosts"] == ["cspm.acme.example", "localhost"]
    # Proxy settings from the file reach os.environ, where the cloud SDKs look for them.
    assert values["https_proxy"] == "http://proxy.acmecorp.com:3128"

    env = clean_env(tmp_path, INSIGHTCLOUD_ENV_FILE=str(env_file), INSIGHTCLOUD_LOG_LEVEL="ERROR")
    assert json.loads(probe_settings(env).stdout)["log_level"] == "ERROR"


def test_a_malformed_env_file_line_is_reported_with_its_line_number(tmp_path):
    env_file = tmp_path / "prod.env"
    env_file.write_text("DIVVY_DB_HOST=db\nthis is not a setting\n")
    with pytest.raises(SettingError, match=r"prod.env:2: expected KEY=VALUE"):
        parse_env_file(env_file)


def test_typed_helpers_parse_good_values():
    env = Env(
        {"N": "42", "FLAG": "yes", "HOSTS": "a, b,,c", "LEVEL": "debug"},
        environ={"FLAG": "off"},
    )
    assert env.int("N", 1) == 42
    assert env.int("MISSING", 7) == 7
    assert env.bool("FLAG", True) is False  # the process environment wins over the file
    assert env.list("HOSTS", []) == ["a", "b", "c"]
    assert env.choice("LEVEL", "INFO", ("DEBUG", "INFO")) == "DEBUG"
    with pytest.raises(SettingError, match="^N: must be at most 10, got 42$"):
        env.int("N", 1, maximum=10)
    with pytest.raises(SettingError, match="^REQ: required but not set$"):
        env.str("REQ", required=True)


def test_embedded_keys_are_generated_once_and_kept_private(tmp_path):
    env = clean_env(tmp_path)
    assert probe_settings(env).returncode == 0
    key_file = tmp_path / "data" / "encryption_key"
    first = key_file.read_text()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert probe_settings(env).returncode == 0
    assert key_file.read_text() == first

"""deploy/prod.env.example documents every variable the settings read, and the proxy block."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "deploy" / "prod.env.example").read_text()
ENV_NAME = re.compile(r"^(DIVVY|INSIGHTCLOUD|SENTRY)_[A-Z0-9_]+$|^(http|https|no)_proxy$")
# Read by the programs themselves, not from the file: pointing at the file, or install-time only.
NOT_IN_FILE = {"INSIGHTCLOUD_ENV_FILE"}


def names_read_by(path: Path) -> set[str]:
    """Every string constant of a module that looks like one of our environment variable names."""
    tree = ast.parse(path.read_text())
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and ENV_NAME.match(node.value)
    }


def documented(name: str) -> bool:
    return re.search(rf"^#?{re.escape(name)}=", EXAMPLE, re.MULTILINE) is not None


def test_settings_read_many_variables():
    # Guards the parser below: if it found nothing, the next test would pass vacuously.
    assert {"DIVVY_DB_HOST", "INSIGHTCLOUD_SECRET_KEY", "SENTRY_DSN"} <= names_read_by(
        ROOT / "insightcloud/settings.py"
    )


def test_every_variable_the_settings_read_is_in_prod_env_example():
    names = names_read_by(ROOT / "insightcloud/settings.py") - NOT_IN_FILE
    missing = sorted(name for name in names if not documented(name))
    assert not missing, f"deploy/prod.env.example lacks {missing}"


def test_every_variable_in_prod_env_example_has_a_comment_above_it():
    lines = EXAMPLE.splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^#?[A-Za-z_]+=", line):
            above = lines[number - 1]
            assert above.startswith("#"), f"{line!r} has no comment"


def test_proxy_block_is_exactly_as_documented():
    assert "#http_proxy=http://proxy.acmecorp.com\n" in EXAMPLE
    assert "#https_proxy=http://proxy.acmecorp.com\n" in EXAMPLE
    assert "#no_proxy=mysql,redis,169.254.169.254\n" in EXAMPLE
    assert "localhost,127.0.0.0,127.0.1.1" in EXAMPLE
    assert "http://USER:PASSWORD@HOST:PORT" in EXAMPLE


def test_prod_env_example_parses_with_the_settings_parser(tmp_path):
    from insightcloud.env import parse_env_file

    target = tmp_path / "prod.env"
    target.write_text(EXAMPLE)
    values = parse_env_file(target)
    assert values["INSIGHTCLOUD_BIND"] == "127.0.0.1:8001"
    assert "DIVVY_DB_HOST" not in values  # commented: embedded defaults until configured

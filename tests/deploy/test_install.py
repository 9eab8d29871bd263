"""deploy/install.sh in a scratch prefix: installs, then a second run changes nothing.

System packages are skipped and the new virtualenv reuses the test virtualenv's packages
(INSIGHTCLOUD_VENV_SEED), so the run takes seconds and needs no network; services are not
started. The database is the embedded SQLite file inside the prefix.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "deploy" / "install.sh"

pytestmark = pytest.mark.slow


def install_env(prefix: Path, **extra: str) -> dict[str, str]:
    # A clean environment: nothing of the test's own database settings may leak into prod.env.
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "INSIGHTCLOUD_ROOT": str(prefix),
        "INSIGHTCLOUD_SKIP_PACKAGES": "1",
        "INSIGHTCLOUD_SERVICE_USER": getpass.getuser(),
        "INSIGHTCLOUD_VENV_SEED": sys.prefix,
        "INSIGHTCLOUD_PYTHON": sys.executable,
        "INSIGHTCLOUD_NO_START": "1",
        "INSIGHTCLOUD_HTTP_PORT": "18080",
        "INSIGHTCLOUD_HTTPS_PORT": "18443",
        **extra,
    }


def run_install(prefix: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["bash", str(INSTALL), *args], env=install_env(prefix, **extra), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def snapshot(prefix: Path) -> dict[str, tuple]:
    """Every path under the prefix with its type, mode, owner and content hash (not times)."""
    listing = {}
    for path in sorted(prefix.rglob("*")):
        if path.name.endswith(("-wal", "-shm", "-journal")):
            continue  # SQLite's transient companions come and go with every connection
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            content = os.readlink(path)
        elif stat.S_ISREG(info.st_mode):
            content = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            content = None
        listing[str(path.relative_to(prefix))] = (
            stat.S_IFMT(info.st_mode),
            stat.S_IMODE(info.st_mode),
            info.st_uid,
            content,
        )
    return listing


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("prefix")
    first = run_install(prefix, "--role", "all")
    return prefix, first


def test_first_run_installs_code_units_env_file_and_certificate(installed):
    prefix, first = installed
    assert (prefix / "opt/insightcloud/app/manage.py").is_file()
    assert (prefix / "opt/insightcloud/venv/bin/python").exists()
    units = prefix / "etc/systemd/system"
    assert {p.name for p in units.iterdir()} == {
        "insightcloud-interfaceserver.service",
        "insightcloud-scheduler.service",
        "insightcloud-worker@.service",
        "insightcloud-worker-p0.service",
    }
    assert (prefix / "etc/insightcloud/tls/insightcloud.crt").is_file()
    assert (prefix / "etc/nginx/conf.d/insightcloud.conf").is_file()
    assert "migrations applied" in first.stdout


def test_units_point_at_the_prefix_paths(installed):
    prefix, _ = installed
    unit = (prefix / "etc/systemd/system/insightcloud-worker-p0.service").read_text()
    assert f"EnvironmentFile={prefix}/divvycloud/prod.env" in unit
    assert f"ExecStart={prefix}/opt/insightcloud/venv/bin/python {prefix}/opt/insightcloud/app/manage.py worker" in unit
    assert f"ReadWritePaths={prefix}/var/lib/insightcloud" in unit
    assert f"User={getpass.getuser()}" in unit


def test_env_file_has_generated_keys_and_private_mode(installed):
    from cryptography.fernet import Fernet

    from insightcloud.env import parse_env_file

    prefix, _ = installed
    env_file = prefix / "divvycloud/prod.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = parse_env_file(env_file)
    assert len(values["INSIGHTCLOUD_SECRET_KEY"]) >= 50
    Fernet(values["INSIGHTCLOUD_ENCRYPTION_KEY"])  # a valid Fernet key, or this raises
    assert values["INSIGHTCLOUD_DATA_DIR"] == f"{prefix}/var/lib/insightcloud"
    assert values["INSIGHTCLOUD_TRUSTED_PROXIES"] == "127.0.0.1"


def test_nginx_site_uses_the_configured_ports(installed):
    prefix, _ = installed
    site = (prefix / "etc/nginx/conf.d/insightcloud.conf").read_text()
    assert "listen 18443 ssl" in site
    assert "listen 18080 default_server" in site
    assert "return 301 https://$host:18443$request_uri" in site
    assert f"ssl_certificate     {prefix}/etc/insightcloud/tls/insightcloud.crt" in site


def test_second_run_changes_nothing_and_keeps_prod_env(installed):
    prefix, _ = installed
    env_file = prefix / "divvycloud/prod.env"
    # An operator's edit must survive a re-run.
    env_file.write_text(env_file.read_text() + "# edited by the operator\n")
    before = snapshot(prefix)
    second = run_install(prefix, "--role", "all")
    after = snapshot(prefix)
    assert "nothing changed" in second.stdout, second.stdout
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, changed
    assert env_file.read_text().endswith("# edited by the operator\n")


def test_new_code_is_the_upgrade_path(installed, tmp_path):
    prefix, _ = installed
    # A copy of the checkout with one changed file stands for a new release.
    source = tmp_path / "release"
    subprocess.run(
        [
            "rsync",
            "-a",
            "--exclude=.git",
            "--exclude=.venv",
            "--exclude=__pycache__",
            "--exclude=/var",
            f"{ROOT}/",
            f"{source}/",
        ],
        check=True,
    )
    (source / "NEW_RELEASE").write_text("2\n")
    result = subprocess.run(
        ["bash", str(source / "deploy/install.sh"), "--role", "all"],
        env=install_env(prefix),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "changed: application code" in result.stdout
    assert (prefix / "opt/insightcloud/app/NEW_RELEASE").read_text() == "2\n"


def test_bad_role_is_refused_and_changes_nothing(tmp_path):
    result = subprocess.run(
        ["bash", str(INSTALL), "--role", "everything"], env=install_env(tmp_path), capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "--role must be all, interface, scheduler or worker" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_worker_role_installs_only_worker_units_and_no_nginx(tmp_path):
    run_install(tmp_path, "--role", "worker", "--workers", "3")
    units = {p.name for p in (tmp_path / "etc/systemd/system").iterdir()}
    assert units == {"insightcloud-worker@.service", "insightcloud-worker-p0.service"}
    assert not (tmp_path / "etc/nginx").exists()
    conf = (tmp_path / "opt/insightcloud/etc/insightcloudctl.conf").read_text()
    assert (
        'SERVICES="insightcloud-worker@1.service insightcloud-worker@2.service insightcloud-worker@3.service '
        'insightcloud-worker-p0.service"' in conf
    )


def test_without_systemd_the_fallback_runs_every_service_and_nginx_serves_status_over_https(tmp_path):
    """install.sh starts the units' commands with insightcloudctl; /Status answers through nginx/TLS."""
    import json
    import ssl
    import time
    import urllib.request

    from tests.processes import free_port

    if not __import__("shutil").which("nginx"):
        pytest.skip("nginx is not installed")
    http_port, https_port, app_port = free_port(), free_port(), free_port()
    ctl = tmp_path / "opt/insightcloud/bin/insightcloudctl"
    try:
        result = run_install(
            tmp_path,
            "--role",
            "all",
            INSIGHTCLOUD_NO_START="0",
            INSIGHTCLOUD_HTTP_PORT=str(http_port),
            INSIGHTCLOUD_HTTPS_PORT=str(https_port),
            INSIGHTCLOUD_BIND=f"127.0.0.1:{app_port}",
            INSIGHTCLOUD_HEARTBEAT_SECONDS="2",
            INSIGHTCLOUD_NGINX_IPV6="0",
        )
        assert "using " in result.stdout and "insightcloudctl" in result.stdout
        context = ssl.create_default_context(cafile=str(tmp_path / "etc/insightcloud/tls/insightcloud.crt"))
        context.check_hostname = False  # the certificate names this host, we connect to 127.0.0.1
        deadline = time.monotonic() + 60
        body: dict = {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{https_port}/Status", context=context, timeout=5) as r:
                    body = json.loads(r.read())
                if body.get("status") == "healthy" and len(body["workers"]) == 2:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert body.get("status") == "healthy", body
        assert {w["queues"] == ["p0"] for w in body["workers"]} == {True, False}  # general and dedicated p0
        status = subprocess.run([str(ctl), "status"], capture_output=True, text=True)
        assert status.returncode == 0 and status.stdout.count(": running") == 5, status.stdout
    finally:
        if ctl.exists():
            subprocess.run([str(ctl), "stop"], capture_output=True, text=True, timeout=120)
    status = subprocess.run([str(ctl), "status"], capture_output=True, text=True)
    assert status.returncode == 3 and ": running" not in status.stdout

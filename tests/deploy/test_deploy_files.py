"""The static deploy files: systemd units, docker-compose, Dockerfile, nginx and Apache configs."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = {
    "insightcloud-interfaceserver.service": "manage.py interfaceserver",
    "insightcloud-scheduler.service": "manage.py scheduler",
    "insightcloud-worker@.service": "manage.py worker --queues p0,p1,p2",
    "insightcloud-worker-p0.service": "manage.py worker --queues p0 --concurrency 1",
}


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


@pytest.mark.parametrize("name", sorted(UNITS))
def test_unit_runs_its_command_as_divvy_with_the_env_file_and_hardening(name):
    service = unit(name)["Service"]
    assert service["ExecStart"].startswith("/opt/insightcloud/venv/bin/python /opt/insightcloud/app/")
    assert UNITS[name] in service["ExecStart"]
    assert service["User"] == "divvy"
    assert service["EnvironmentFile"] == "/divvycloud/prod.env"
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/var/lib/insightcloud"
    assert service["PrivateTmp"] == "yes"
    assert service["ProtectHome"] == "yes"
    assert unit(name)["Install"]["WantedBy"] == "multi-user.target"


def test_general_worker_unit_is_instanced():
    assert "%i" in unit("insightcloud-worker@.service")["Service"]["ExecStart"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_units_pass_systemd_analyze_verify(tmp_path):
    for name in UNITS:
        (tmp_path / name).write_text((DEPLOY / "systemd" / name).read_text())
    result = subprocess.run(
        ["systemd-analyze", "verify", *[str(tmp_path / n) for n in UNITS]], capture_output=True, text=True
    )
    # Missing binaries/users on this machine are fine; syntax errors and unknown keys are not.
    problems = [
        line
        for line in result.stderr.splitlines()
        if "Unknown key" in line or "Unknown section" in line or "bad-setting" in line or "Invalid" in line
    ]
    assert not problems, result.stderr


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_docker_compose_parses_and_runs_every_process():
    services = compose()["services"]
    assert services["mysql"]["image"] == "mysql:8.0"
    assert services["redis"]["image"] == "redis:7"
    commands = {name: " ".join(s.get("command", [])) for name, s in services.items()}
    assert commands["migrate"] == "python manage.py migrate --noinput"
    assert commands["interfaceserver"] == "python manage.py interfaceserver --bind 0.0.0.0:8001"
    assert commands["scheduler"] == "python manage.py scheduler"
    assert commands["worker"] == "python manage.py worker --queues p0,p1,p2"
    assert commands["worker-p0"] == "python manage.py worker --queues p0 --concurrency 1"


def test_docker_compose_app_services_share_settings_and_wait_for_the_schema():
    services = compose()["services"]
    for name in ("interfaceserver", "scheduler", "worker", "worker-p0"):
        service = services[name]
        assert service["environment"]["DIVVY_DB_HOST"] == "mysql"
        assert service["environment"]["DIVVY_REDIS_HOST"] == "redis"
        assert "mysql,redis,169.254.169.254" in service["environment"]["no_proxy"]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / "Dockerfile").is_file()


def test_dockerfile_runs_as_the_service_user():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "USER divvy" in dockerfile
    assert 'CMD ["python", "manage.py", "interfaceserver", "--bind", "0.0.0.0:8001"]' in dockerfile


def test_nginx_redirects_80_to_443_and_proxies_to_8001_with_hsts_and_forwarded_headers():
    site = (DEPLOY / "nginx" / "insightcloud.conf").read_text()
    assert "listen 80 default_server;" in site
    assert "return 301 https://$host$request_uri;" in site
    assert "listen 443 ssl default_server;" in site
    assert "server 127.0.0.1:8001;" in site
    assert 'add_header Strict-Transport-Security "max-age=31536000" always;' in site
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    assert "proxy_set_header X-Forwarded-Proto https;" in site


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx not installed")
def test_nginx_accepts_the_site_config(tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=t",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    site = (DEPLOY / "nginx" / "insightcloud.conf").read_text()
    site = site.replace("/etc/insightcloud/tls/insightcloud.crt", str(cert))
    site = site.replace("/etc/insightcloud/tls/insightcloud.key", str(key))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}} "
        f"http {{ access_log off; include {tmp_path}/site.conf; }}"
    )
    result = subprocess.run(["nginx", "-t", "-q", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_apache_config_redirects_and_replaces_forwarded_headers():
    site = (DEPLOY / "apache2" / "insightcloud.conf").read_text()
    assert "<VirtualHost *:80>" in site and "<VirtualHost *:443>" in site
    assert "RewriteRule ^/?(.*) https://%{HTTP_HOST}/$1 [R=301,L]" in site
    assert "ProxyPass        / http://127.0.0.1:8001/" in site
    assert 'RequestHeader set X-Forwarded-Proto "https"' in site
    assert 'Header always set Strict-Transport-Security "max-age=31536000"' in site

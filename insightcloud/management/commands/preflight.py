"""``manage.py preflight``: does this host have what an InsightCloud install needs?

Checks, each answered in plain words on one line (OK / WARN / FAIL):

- the database is reachable and new enough (MySQL 8.0+ or MariaDB 10.11+);
- Redis is reachable and new enough (6+);
- the data directory has free disk space;
- this host's clock agrees with the database server's;
- every cloud API host answers over HTTPS, through the configured proxy when there is one;
- the env file (prod.env, which holds secrets) is not readable by group or others.

Exits 1 when any check fails, 0 otherwise (warnings included). ``--skip-network`` leaves out
the cloud API check (air-gapped hosts, CI); ``--https-target`` replaces its host list.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import re
import shutil
import socket
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

CLOUD_API_HOSTS = (
    "sts.amazonaws.com",
    "management.azure.com",
    "login.microsoftonline.com",
    "oauth2.googleapis.com",
    "compute.googleapis.com",
    "ecs.aliyuncs.com",
)
MIN_MYSQL = (8, 0)
MIN_MARIADB = (10, 11)
MIN_REDIS = (6, 0)


@dataclass(frozen=True)
class Result:
    status: str  # OK, WARN or FAIL
    check: str
    message: str


def ok(check: str, message: str) -> Result:
    return Result("OK", check, message)


def warn(check: str, message: str) -> Result:
    return Result("WARN", check, message)


def fail(check: str, message: str) -> Result:
    return Result("FAIL", check, message)


def _version_tuple(text: str) -> tuple[int, ...]:
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    if not match:
        return ()
    return tuple(int(part) for part in match.groups() if part is not None)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


# --- database ---------------------------------------------------------------------------


def judge_database_version(version: str) -> Result:
    """MySQL 8.0+ or MariaDB 10.11+; ``version`` as SELECT VERSION() gives it."""
    number = _version_tuple(version)
    if "mariadb" in version.lower():
        kind, minimum = "MariaDB", MIN_MARIADB
    else:
        kind, minimum = "MySQL", MIN_MYSQL
    shown = ".".join(map(str, number)) or version
    wanted = ".".join(map(str, minimum))
    if number and number >= minimum:
        return ok("database", f"{kind} {shown} (needs {wanted} or newer)")
    return fail("database", f"{kind} {shown} is too old: InsightCloud needs {kind} {wanted} or newer")


def check_database() -> tuple[Result, float | None]:
    """The database result and how far this host's clock is ahead of the server's (s), None when unknown."""
    from django.db import connection

    if connection.vendor == "sqlite":
        return warn("database", f"embedded SQLite file {connection.settings_dict['NAME']} (test drive only)"), None
    where = f"{connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT VERSION(), UTC_TIMESTAMP(6)")
            version, server_now = cursor.fetchone()
        # Compare with the moment the answer arrived: the skew is then at most one round trip.
        skew = (dt.datetime.now(dt.UTC) - server_now.replace(tzinfo=dt.UTC)).total_seconds()
    except Exception as exc:
        return fail("database", f"cannot reach the database at {where}: {_one_line(exc)}"), None
    result = judge_database_version(version)
    return Result(result.status, result.check, f"{result.message} at {where}"), skew


# --- Redis ------------------------------------------------------------------------------


def judge_redis_version(version: str) -> Result:
    number = _version_tuple(version)
    wanted = ".".join(map(str, MIN_REDIS[:1]))
    if number and number >= MIN_REDIS:
        return ok("redis", f"Redis {version} (needs {wanted} or newer)")
    return fail("redis", f"Redis {version} is too old: InsightCloud needs Redis {wanted} or newer")


def check_redis() -> Result:
    if settings.EMBEDDED_BROKER:
        return warn("redis", "no DIVVY_REDIS_HOST: the embedded file-system queue (test drive on one host only)")
    import redis

    where = f"{settings.REDIS_HOST}:{settings.REDIS_PORT}"
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=3, socket_connect_timeout=3)
        version = client.info("server")["redis_version"]
        client.close()
    except Exception as exc:
        return fail("redis", f"cannot reach Redis at {where}: {_one_line(exc)}")
    result = judge_redis_version(version)
    return Result(result.status, result.check, f"{result.message} at {where}")


# --- disk, clock, env file -------------------------------------------------------------


def check_disk(path: Path, min_free_gb: float) -> Result:
    try:
        free = shutil.disk_usage(path).free / 1024**3
    except OSError as exc:
        return fail("disk", f"cannot read free space of {path}: {_one_line(exc)}")
    if free < min_free_gb:
        return fail("disk", f"only {free:.1f} GB free in {path}; at least {min_free_gb:g} GB needed")
    return ok("disk", f"{free:.1f} GB free in {path} (needs {min_free_gb:g} GB)")


def judge_clock(skew: float | None, max_skew: float) -> Result:
    """``skew``: seconds this host's clock is ahead of the database server's (negative: behind)."""
    if skew is None:
        return warn("time", "not compared (no database server to compare with)")
    direction = "ahead of" if skew > 0 else "behind"
    if abs(skew) > max_skew:
        return fail(
            "time",
            f"this host's clock is {abs(skew):.1f} s {direction} the database server's "
            f"(more than {max_skew:g} s): turn on time sync (chrony/ntp) on both",
        )
    return ok("time", f"this host's clock is within {abs(skew):.2f} s of the database server's")


def check_env_file(path: Path | None) -> Result:
    if path is None:
        return warn(
            "env file",
            "no env file (/divvycloud/prod.env or INSIGHTCLOUD_ENV_FILE): settings from the environment only",
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return warn(
            "env file",
            f"{path} holds secrets but is readable by {'others' if mode & 0o007 else 'its group'} "
            f"(mode {mode:04o}): chmod 600 {path}",
        )
    return ok("env file", f"{path} is private to its owner (mode {mode:04o})")


# --- outbound HTTPS ---------------------------------------------------------------------


def check_https(url: str, timeout: float, ca_file: str | None = None) -> Result:
    """One HTTPS request to ``url``, through the proxy ``proxy_for`` chooses; any HTTP answer is success."""
    from harvesters.proxy import proxy_for, redact, split_proxy

    parts = urlsplit(url if "://" in url else f"https://{url}")
    host, port = parts.hostname or "", parts.port or 443
    context = ssl.create_default_context(cafile=ca_file)
    proxy = proxy_for(f"https://{host}:{port}/")
    route = f"through the proxy {redact(proxy)}" if proxy else "directly"
    try:
        if proxy:
            proxy_parts = split_proxy(proxy)
            headers = {}
            if proxy_parts.user is not None:
                token = base64.b64encode(f"{proxy_parts.user}:{proxy_parts.password or ''}".encode()).decode()
                headers["Proxy-Authorization"] = f"Basic {token}"
            connection = http.client.HTTPSConnection(
                proxy_parts.host, proxy_parts.port, timeout=timeout, context=context
            )
            connection.set_tunnel(host, port, headers=headers)
        else:
            connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        try:
            connection.request("HEAD", parts.path or "/", headers={"User-Agent": "InsightCloud-preflight"})
            status = connection.getresponse().status
        finally:
            connection.close()
    except OSError as exc:
        text = str(exc)
        if "407" in text:
            reason = "the proxy wants a user and password (put them in https_proxy as http://USER:PASSWORD@HOST:PORT)"
        elif isinstance(exc, ssl.SSLCertVerificationError):
            reason = f"its certificate is not trusted ({exc.verify_message}); a TLS-inspecting proxy needs its CA"
        elif isinstance(exc, socket.gaierror):
            reason = "the name does not resolve (no DNS here? behind a proxy, set https_proxy)"
        elif isinstance(exc, socket.timeout | TimeoutError):
            reason = f"no answer within {timeout:g} s"
        else:
            reason = _one_line(exc)
        return fail("https", f"cannot reach {host}:{port} {route}: {reason}")
    return ok("https", f"{host}:{port} answers over HTTPS {route} (HTTP {status})")


class Command(BaseCommand):
    help = "Check the database, Redis, disk, clock, outbound HTTPS to the clouds and the env file's permissions."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--skip-network", action="store_true", help="leave out the outbound HTTPS check")
        parser.add_argument(
            "--https-target",
            action="append",
            metavar="URL",
            help="check this HTTPS URL instead of the cloud API hosts (repeatable)",
        )
        parser.add_argument("--ca-file", help="extra CA bundle for the HTTPS check (a TLS-inspecting proxy's CA)")
        parser.add_argument("--timeout", type=float, default=5.0, help="seconds per HTTPS check (default 5)")
        parser.add_argument("--min-free-gb", type=float, default=5.0, help="free space the data dir needs (default 5)")
        parser.add_argument("--max-clock-skew", type=float, default=5.0, help="seconds (default 5)")

    def handle(self, *args, **options) -> None:
        from insightcloud.env import SettingError, env_file_path

        results: list[Result] = []
        database, skew = check_database()
        results.append(database)
        results.append(check_redis())
        results.append(check_disk(Path(settings.DATA_DIR), options["min_free_gb"]))
        results.append(judge_clock(skew, options["max_clock_skew"]))
        if options["skip_network"]:
            results.append(warn("https", "outbound HTTPS to the cloud APIs not checked (--skip-network)"))
        else:
            for target in options["https_target"] or CLOUD_API_HOSTS:
                results.append(check_https(target, options["timeout"], options["ca_file"]))
        try:
            results.append(check_env_file(env_file_path()))
        except SettingError as exc:
            results.append(fail("env file", str(exc)))
        for result in results:
            line = f"{result.status:<4}  {result.check}: {result.message}"
            style = {"OK": self.style.SUCCESS, "WARN": self.style.WARNING, "FAIL": self.style.ERROR}[result.status]
            self.stdout.write(style(line))
        failures = sum(r.status == "FAIL" for r in results)
        if failures:
            raise CommandError(f"{failures} check(s) failed", returncode=1)
        self.stdout.write("preflight: ready" + (" (with warnings)" if any(r.status == "WARN" for r in results) else ""))

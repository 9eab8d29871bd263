"""Onboarding an Alibaba Cloud account: ``manage.py addcloud alibaba --name NAME --access-key-id ID ...``.

The AccessKey secret comes on standard input (or ``--secret-file``), never on the command line.
The credentials are checked against the cloud (STS GetCallerIdentity, then AssumeRole when
``--role-arn`` is given) and the regions listed (ECS DescribeRegions) BEFORE anything is saved;
a refusal raises InvalidCredentials / AssumeRoleFailed with a one-line reason and saves nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import IO, Any

from django.core.management.base import CommandError
from django.db import transaction

from harvesters.base import HarvestError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``addcloud alibaba`` (the command adds --name itself)."""
    parser.add_argument("--access-key-id", required=True, help="RAM user AccessKey id (the secret is read from stdin)")
    parser.add_argument("--secret-file", help="read the AccessKey secret from this file instead of standard input")
    parser.add_argument("--role-arn", help="RAM role to assume with STS, e.g. acs:ram::<uid>:role/insightcloud-audit")
    parser.add_argument("--session-name", default="InsightCloud", help="STS role session name")
    parser.add_argument("--regions", help="comma-separated region ids (default: every available region)")
    parser.add_argument("--endpoint-url", help="send every API (and OSS) to this base URL (Apsara stack, tests)")
    parser.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="PRODUCT=URL",
        help="override one product's endpoint, e.g. ecs=https://ecs.example.com (repeatable; {region} is filled in)",
    )
    parser.add_argument(
        "--protocol", choices=("https", "http"), default="https", help="protocol of SDK-resolved endpoints"
    )


def _read_secret(options: dict, stdin: IO[str] | None) -> str:
    if options.get("secret_file"):
        path = Path(options["secret_file"])
        try:
            secret = path.read_text().strip()
        except OSError as exc:
            raise CommandError(f"cannot read the secret file {path}: {exc.strerror}") from None
    else:
        secret = (stdin.readline() if stdin is not None else "").strip()
    if not secret:
        raise CommandError("the AccessKey secret is missing: pass it on standard input or with --secret-file")
    return secret


def _endpoints(values: list[str]) -> dict[str, str]:
    endpoints = {}
    for value in values or []:
        product, sep, url = value.partition("=")
        if not sep or not product.strip() or not url.strip():
            raise CommandError(f"--endpoint must be PRODUCT=URL, got {value!r}")
        endpoints[product.strip().lower()] = url.strip()
    return endpoints


def auth_settings_from(options: dict) -> dict[str, Any]:
    """The non-secret settings stored on the CloudAccount."""
    settings: dict[str, Any] = {"protocol": options.get("protocol") or "https"}
    if options.get("endpoint_url"):
        settings["endpoint_url"] = options["endpoint_url"]
    endpoints = _endpoints(options.get("endpoint") or [])
    if endpoints:
        settings["endpoints"] = endpoints
    if options.get("role_arn"):
        settings["role_arn"] = options["role_arn"]
        settings["session_name"] = options.get("session_name") or "InsightCloud"
    return settings


def onboard(options: dict, stdin: IO[str] | None, organization: Any) -> list:
    """Validate the AccessKey (and role) against Alibaba Cloud, then save one CloudAccount."""
    from harvesters.alibaba.driver import classify, connect, list_regions
    from insightcloud.inventory.models import CloudAccount, CloudStatus, Provider

    name = (options.get("name") or "").strip()
    if not name:
        raise CommandError("--name is required")
    if CloudAccount.objects.filter(organization=organization, name=name).exists():
        raise CommandError(f"a cloud named {name!r} already exists in {organization}")
    key_id = (options.get("access_key_id") or "").strip()
    if not key_id:
        raise CommandError("--access-key-id is required")
    secret = _read_secret(options, stdin)
    settings = auth_settings_from(options)
    auth_type = "assume_role" if settings.get("role_arn") else "access_key"
    credentials = {"access_key_id": key_id, "access_key_secret": secret}

    ctx = connect(auth_type, settings, credentials)  # raises InvalidCredentials / AssumeRoleFailed
    try:
        available = [r["RegionId"] for r in list_regions(ctx) if r.get("Status", "available") == "available"]
    except Exception as exc:
        error = classify(exc)
        raise type(error)(f"cannot list the regions: {error}") from None
    if options.get("regions"):
        regions = [r.strip() for r in options["regions"].split(",") if r.strip()]
        unknown = sorted(set(regions) - set(available))
        if unknown:
            raise CommandError(f"unknown or unavailable regions: {', '.join(unknown)}")
    else:
        regions = available
    if not regions:
        raise HarvestError("the account has no available region")

    with transaction.atomic():
        cloud = CloudAccount.objects.create(
            organization=organization,
            provider=Provider.ALIBABA,
            name=name,
            account_id=ctx.account_id,
            auth_type=auth_type,
            auth_settings=settings,
            credentials=credentials,
            regions=regions,
            status=CloudStatus.PENDING,
            status_detail=f"validated as {ctx.arn}" if ctx.arn else "",
        )
    return [cloud]

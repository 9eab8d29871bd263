"""``manage.py addcloud azure``: a service principal, validated against Azure, becomes one cloud per subscription.

The client secret is read from standard input, a certificate from a file (PEM with its private
key, or PKCS#12); neither is ever echoed. Nothing is saved unless Azure accepted the
credentials and every subscription asked for is visible to the principal.

The service principal needs only the built-in Reader role on each subscription: every call of
the collectors is a read (their ``permissions`` list the exact actions).
"""

from __future__ import annotations

import argparse
import base64
from typing import IO, Any

from django.core.management.base import CommandError

from harvesters.azure.session import PUBLIC_ARM, PUBLIC_AUTHORITY, AzureContext, AzureSettings, items, make_credential
from harvesters.base import InvalidCredentials

#: Subscription states in which ARM still answers reads.
USABLE_STATES = {"enabled", "warned", "pastdue"}


class OnboardingError(CommandError):
    """Bad or missing options: a one-line message, nothing saved."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``manage.py addcloud azure --name NAME ...`` (those the parser already has are kept as they are,
    so the command can share ``--regions`` or ``--secret-stdin`` with the other clouds)."""

    def add(target: Any, *flags: str, **kwargs: Any) -> None:
        if not any(flag in parser._option_string_actions for flag in flags):
            target.add_argument(*flags, **kwargs)

    add(parser, "--tenant-id", help="Entra ID tenant (directory) id")
    add(parser, "--client-id", help="application (client) id of the service principal")
    add(parser, "--secret-stdin", action="store_true", help="read the client secret from stdin (the default)")
    add(
        parser,
        "--certificate-file",
        help="PEM (private key and certificate) or PKCS#12 file; without it the client secret is read from stdin",
    )
    add(parser, "--certificate-password-stdin", action="store_true", help="read the certificate's password from stdin")
    scope = parser.add_mutually_exclusive_group()
    add(scope, "--subscription-id", help="onboard this subscription")
    add(scope, "--all-subscriptions", action="store_true", help="onboard every subscription the principal can see")
    add(parser, "--authority-host", default=None, help=f"Entra ID endpoint (default {PUBLIC_AUTHORITY})")
    add(parser, "--arm-endpoint", default=None, help=f"Resource Manager endpoint (default {PUBLIC_ARM})")
    add(parser, "--ca-bundle", default=None, help="PEM file of CAs to trust for those endpoints")
    add(parser, "--regions", default=None, help="comma-separated locations to harvest (default: all in use)")


def _read_secret(stdin: IO[str] | None, what: str) -> str:
    """One line of standard input; typed without echo when it is a terminal."""
    if stdin is not None and hasattr(stdin, "isatty") and stdin.isatty():
        import getpass

        value = getpass.getpass(f"{what.capitalize()}: ")
    else:
        value = stdin.readline() if stdin is not None else ""
    value = value.strip()
    if not value:
        raise OnboardingError(f"no {what} on standard input")
    return value


def _credentials(options: dict, stdin: IO[str] | None) -> tuple[str, dict]:
    path = options.get("certificate_file")
    if not path:
        return "client_secret", {"client_secret": _read_secret(stdin, "client secret")}
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise OnboardingError(f"cannot read certificate file {path}: {exc.strerror}") from None
    credentials: dict[str, Any] = {}
    if b"-----BEGIN" in data:
        if b"PRIVATE KEY-----" not in data:
            raise OnboardingError(f"certificate file {path} has no private key")
        credentials["certificate_pem"] = data.decode("ascii", "replace")
    else:
        credentials["certificate_pkcs12"] = base64.b64encode(data).decode()
    if options.get("certificate_password_stdin"):
        credentials["certificate_password"] = _read_secret(stdin, "certificate password")
    return "certificate", credentials


def _auth_settings(options: dict) -> dict:
    missing = [
        flag for flag, key in (("--tenant-id", "tenant_id"), ("--client-id", "client_id")) if not options.get(key)
    ]
    if missing:
        raise OnboardingError(f"azure needs {' and '.join(missing)}")
    if not options.get("subscription_id") and not options.get("all_subscriptions"):
        raise OnboardingError("azure needs --subscription-id or --all-subscriptions")
    settings = {"tenant_id": options["tenant_id"].strip(), "client_id": options["client_id"].strip()}
    for key in ("authority_host", "arm_endpoint"):
        value = (options.get(key) or "").strip().rstrip("/")
        if value:
            if not value.startswith("https://"):
                raise OnboardingError(f"--{key.replace('_', '-')} must be an https:// URL")
            settings[key] = value
    if options.get("ca_bundle"):
        settings["ca_bundle"] = options["ca_bundle"]
    return settings


def _context(auth_type: str, auth_settings: dict, credentials: dict) -> AzureContext:
    settings = AzureSettings.from_auth_settings(auth_settings)
    return AzureContext(settings=settings, credential=make_credential(settings, auth_type, credentials))


def visible_subscriptions(ctx: AzureContext) -> list[dict]:
    """The subscriptions the principal sees (``subscriptionId``, ``displayName``, ``state``).

    Raises InvalidCredentials when Azure refuses the principal."""
    from harvesters.azure.driver import _connect_error

    try:
        return list(items(ctx.client("subscriptions").subscriptions.list()))
    except Exception as exc:
        raise _connect_error(exc, "") from None


def _check_regions(ctx: AzureContext, subscription_id: str, regions: list[str]) -> None:
    """Refuse --regions naming a location the subscription does not have (a typo would harvest nothing)."""
    from harvesters.azure.driver import _connect_error

    try:
        known = {
            (loc.get("name") or "").lower()
            for loc in items(ctx.client("subscriptions").subscriptions.list_locations(subscription_id))
        }
    except Exception as exc:
        raise _connect_error(exc, subscription_id) from None
    unknown = [region for region in regions if region not in known]
    if unknown:
        raise OnboardingError(f"unknown Azure location(s) in --regions: {', '.join(unknown)}")


def onboard(options: dict, stdin: IO[str] | None, organization: Any) -> list[Any]:
    """Validate the service principal against Azure, then create one CloudAccount per subscription."""
    from django.db import transaction

    from insightcloud.inventory.models import CloudAccount

    name = (options.get("name") or "").strip()
    if not name:
        raise OnboardingError("azure needs --name")
    auth_settings = _auth_settings(options)
    auth_type, credentials = _credentials(options, stdin)
    regions = [r.strip().replace(" ", "").lower() for r in (options.get("regions") or "").split(",") if r.strip()]

    ctx = _context(auth_type, auth_settings, credentials)
    subscriptions = visible_subscriptions(ctx)
    wanted = options.get("subscription_id")
    if wanted:
        chosen = [s for s in subscriptions if s.get("subscriptionId", "").lower() == wanted.strip().lower()]
        if not chosen:
            raise InvalidCredentials(f"Azure subscription {wanted} is not visible to the service principal")
    else:
        chosen = [s for s in subscriptions if (s.get("state") or "").lower() in USABLE_STATES]
        if not chosen:
            raise InvalidCredentials("the service principal sees no enabled Azure subscription")
    if regions:
        _check_regions(ctx, chosen[0]["subscriptionId"], regions)

    existing = set(
        CloudAccount.objects.filter(organization=organization, provider="azure").values_list("account_id", flat=True)
    )
    if wanted and chosen[0]["subscriptionId"] in existing:
        raise OnboardingError(f"Azure subscription {chosen[0]['subscriptionId']} is already onboarded")
    chosen = [s for s in chosen if s["subscriptionId"] not in existing]
    names = {
        s["subscriptionId"]: name if wanted else f"{name} - {s.get('displayName') or s['subscriptionId']}"
        for s in chosen
    }
    taken = set(
        CloudAccount.objects.filter(organization=organization, name__in=list(names.values())).values_list(
            "name", flat=True
        )
    )
    if taken:
        raise OnboardingError(f"a cloud named {sorted(taken)[0]!r} already exists")

    created = []
    with transaction.atomic():
        for sub in chosen:
            created.append(
                CloudAccount.objects.create(
                    organization=organization,
                    provider="azure",
                    name=names[sub["subscriptionId"]],
                    account_id=sub["subscriptionId"],
                    auth_type=auth_type,
                    auth_settings={**auth_settings, "subscription_name": sub.get("displayName") or ""},
                    credentials=credentials,
                    regions=regions,
                )
            )
    return created

"""Onboarding AWS: one account (``addcloud aws``) or every member of an Organization (``addcloud aws-org``).

The same functions serve the command, the GUI form and the API, so every entry point checks the
credentials the same way BEFORE anything is saved: keys, an assumed role (from those keys or the
instance role) or the instance role are authenticated with STS as the harvester will, and the
regions are listed; a refusal raises a HarvestError / ValueError with a one-line reason.

The secret access key comes on ``stdin`` (one line), never in ``options``.
"""

from __future__ import annotations

import argparse
import os
from typing import IO, Any

from harvesters.base import HarvestError

ORG_INACTIVE = ("SUSPENDED", "PENDING_CLOSURE", "CLOSED")


class OnboardingInputError(HarvestError, ValueError):
    """A bad or missing option: a one-line message, nothing saved."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``addcloud aws`` and ``addcloud aws-org`` (the command adds --name and --organization)."""
    parser.add_argument("--access-key-id")
    parser.add_argument("--secret-stdin", action="store_true", help="read the secret access key from stdin")
    parser.add_argument("--role-arn", help="assume this role (aws)")
    parser.add_argument("--role-name", help="role to assume in every member account (aws-org)")
    parser.add_argument("--external-id")
    parser.add_argument("--session-name", default="InsightCloud")
    parser.add_argument("--duration", type=int, default=3600, help="assume-role session seconds (900-43200)")
    parser.add_argument("--instance-role", action="store_true", help="use the default credential chain")
    parser.add_argument("--regions", help="comma-separated regions (default: every enabled region)")
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL") or None)
    parser.add_argument("--include-management", action="store_true", help="aws-org: onboard the management account too")


# --- credentials ----------------------------------------------------------------------------


def base_credentials(options: dict, stdin: IO[str] | None, *, organization: bool = False) -> tuple[str, dict]:
    """("keys", {id, secret}) or ("instance_role", {}): what signs the STS calls."""
    keys, instance = bool(options.get("access_key_id")), bool(options.get("instance_role"))
    if keys and instance:
        raise OnboardingInputError("choose one of --access-key-id and --instance-role")
    if options.get("secret_stdin") and not keys:
        raise OnboardingInputError("--secret-stdin needs --access-key-id")
    if not 900 <= int(options.get("duration") or 3600) <= 43200:
        raise OnboardingInputError("--duration must be between 900 and 43200 seconds")
    if not organization and not (keys or instance or options.get("role_arn")):
        raise OnboardingInputError("give --access-key-id with --secret-stdin, --role-arn ARN, or --instance-role")
    if organization:
        if options.get("role_arn"):
            raise OnboardingInputError("aws-org reaches members through --role-name; --role-arn is for one account")
        if not options.get("role_name"):
            raise OnboardingInputError("aws-org needs --role-name ROLE (the role to assume in each member account)")
        if not (keys or instance):
            raise OnboardingInputError("aws-org needs the management account's --access-key-id or --instance-role")
    if not keys:
        return "instance_role", {}
    if not options.get("secret_stdin"):
        raise OnboardingInputError("give the secret access key on standard input with --secret-stdin")
    secret = (stdin.readline() if stdin is not None else "").strip()
    if not secret:
        raise OnboardingInputError("no secret access key on standard input")
    return "keys", {"access_key_id": options["access_key_id"].strip(), "secret_access_key": secret}


def settings_for(options: dict, role_arn: str | None) -> dict:
    """The non-secret settings stored with the cloud."""
    settings: dict[str, Any] = {}
    if options.get("endpoint_url"):
        settings["endpoint_url"] = options["endpoint_url"]
    if role_arn:
        settings.update(
            role_arn=role_arn,
            session_name=options.get("session_name") or "InsightCloud",
            duration=int(options.get("duration") or 3600),
        )
    return settings


def authenticate(auth_type: str, settings: dict, credentials: dict) -> Any:
    """Authenticate as the harvester will (STS get_caller_identity, assume-role)."""
    from harvesters.aws import session

    return session.connect(auth_type, settings, credentials)


def regions_for(ctx: Any, wanted_text: str | None) -> list[str]:
    """The regions asked for (each must be enabled for the account), else every enabled region."""
    from harvesters.aws.session import describe
    from harvesters.base import get_driver

    try:
        enabled = get_driver("aws").regions(ctx)
    except Exception as exc:
        raise HarvestError(f"cannot list the account's regions: {describe(exc)}") from None
    if not wanted_text:
        return enabled
    wanted = [region.strip() for region in wanted_text.split(",") if region.strip()]
    if not wanted:
        raise OnboardingInputError(f"no region in --regions {wanted_text!r}")
    unknown = [region for region in wanted if region not in enabled]
    if unknown:
        raise OnboardingInputError(f"region(s) not enabled for the account: {', '.join(unknown)}")
    return wanted


def _name_taken(organization: Any, name: str) -> OnboardingInputError:
    return OnboardingInputError(f"a cloud named {name!r} already exists in {organization.slug}")


# --- one account ----------------------------------------------------------------------------


def onboard(options: dict, stdin: IO[str] | None, organization: Any) -> list[Any]:
    """Validate the credentials with STS and list the regions, then save one CloudAccount."""
    from django.db import IntegrityError

    from insightcloud.inventory.models import CloudAccount

    name = (options.get("name") or "").strip()
    if not name:
        raise OnboardingInputError("--name is required")
    if CloudAccount.objects.filter(organization=organization, name=name).exists():
        raise _name_taken(organization, name)
    base_type, credentials = base_credentials(options, stdin)
    auth_type = "assume_role" if options.get("role_arn") else base_type
    if options.get("external_id"):
        credentials["external_id"] = options["external_id"]
    settings = settings_for(options, options.get("role_arn"))
    ctx = authenticate(auth_type, settings, credentials)
    regions = regions_for(ctx, options.get("regions"))
    try:
        cloud = CloudAccount.objects.create(
            organization=organization,
            provider="aws",
            name=name,
            account_id=ctx.account_id,
            auth_type=auth_type,
            auth_settings=settings,
            credentials=credentials,
            regions=regions,
        )
    except IntegrityError:
        raise _name_taken(organization, name) from None
    return [cloud]


# --- an organization ------------------------------------------------------------------------


def onboard_organization(options: dict, stdin: IO[str] | None, organization: Any) -> dict[str, list]:
    """Every member account, reached through ``--role-name``; a re-run adds new ones and closes gone ones.

    Returns ``{"added": [CloudAccount], "closed": [CloudAccount], "unchanged": [name]}``.
    """
    from harvesters.aws.session import describe
    from insightcloud.inventory.models import CloudAccount, CloudStatus

    base_type, credentials = base_credentials(options, stdin, organization=True)
    management = authenticate(base_type, settings_for(options, None), credentials)
    try:
        client = management.client("organizations")
        management_id = client.describe_organization()["Organization"]["MasterAccountId"]
        accounts = [
            account for page in client.get_paginator("list_accounts").paginate() for account in page.get("Accounts", [])
        ]
    except Exception as exc:
        raise HarvestError(f"cannot list the organization's accounts: {describe(exc)}") from None

    prefix = options["name"]
    existing = {
        cloud.account_id: cloud
        for cloud in CloudAccount.objects.filter(
            organization=organization, provider="aws", auth_settings__aws_organization=prefix
        )
    }
    listed = {account["Id"]: account for account in accounts}
    result: dict[str, list] = {"added": [], "closed": [], "unchanged": []}
    for account_id, account in sorted(listed.items()):
        if account_id == management_id and not options.get("include_management"):
            continue
        inactive = account.get("Status") in ORG_INACTIVE
        cloud = existing.get(account_id)
        if cloud is not None:
            if inactive and cloud.status != CloudStatus.CLOSED:
                _close(cloud, f"account is {account['Status']} in the organization")
                result["closed"].append(cloud)
            else:
                result["unchanged"].append(cloud.name)
            continue
        if not inactive:
            result["added"].append(_add_member(organization, prefix, account, credentials, options))
    for account_id, cloud in sorted(existing.items()):
        if account_id not in listed and cloud.status != CloudStatus.CLOSED:
            _close(cloud, "account is no longer in the organization")
            result["closed"].append(cloud)
    return result


def _add_member(organization: Any, prefix: str, account: dict, credentials: dict, options: dict) -> Any:
    from django.db import transaction

    from insightcloud.inventory.models import CloudAccount, CloudStatus

    role_arn = f"arn:aws:iam::{account['Id']}:role/{options['role_name']}"
    settings = {**settings_for(options, role_arn), "aws_organization": prefix}
    credentials = dict(credentials)
    if options.get("external_id"):
        credentials["external_id"] = options["external_id"]
    status, detail, regions = CloudStatus.PENDING, "", []
    try:
        ctx = authenticate("assume_role", settings, credentials)
        regions = regions_for(ctx, options.get("regions"))
    except OnboardingInputError:
        raise
    except HarvestError as exc:  # saved all the same: the operator sees which role to fix
        status = CloudStatus.ASSUME_ROLE_FAILED
        detail = " ".join(str(exc).split())
    name = f"{prefix} / {account.get('Name') or account['Id']}"
    with transaction.atomic():
        if CloudAccount.objects.filter(organization=organization, name=name).exists():
            name = f"{name} ({account['Id']})"
        return CloudAccount.objects.create(
            organization=organization,
            provider="aws",
            name=name,
            account_id=account["Id"],
            auth_type="assume_role",
            auth_settings=settings,
            credentials=credentials,
            regions=regions,
            status=status,
            status_detail=detail,
        )


def _close(cloud: Any, detail: str) -> None:
    from insightcloud.inventory.models import CloudStatus

    cloud.status, cloud.status_detail = CloudStatus.CLOSED, detail
    cloud.save(update_fields=["status", "status_detail", "updated_at"])

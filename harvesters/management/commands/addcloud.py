"""``manage.py addcloud aws|aws-org|azure|gcp|alibaba --name NAME ...``: onboard clouds.

Azure, GCP and Alibaba bring their own options and checks (``harvesters/<cloud>/onboard.py``);
AWS's are here.

``aws``: one account, with access keys (secret on standard input), an assumed role (from those
keys or the instance role) or the instance role. The credentials are checked with STS before
anything is saved; the new cloud is printed as JSON, never its secret.

``aws-org``: every member account of an AWS Organization, listed from the management account's
credentials and reached through ``arn:aws:iam::<id>:role/<ROLE>``. A re-run adds the new
accounts and marks the ones that left or were closed (status ``closed``).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction

from harvesters.base import HarvestError

ORG_INACTIVE = ("SUSPENDED", "PENDING_CLOSURE", "CLOSED")
ONBOARDING_HELP = {
    "aws": "one AWS account (keys, assume-role or instance role)",
    "aws-org": "every member account of an AWS Organization",
    "azure": "Azure subscriptions through a service principal",
    "gcp": "GCP projects through a service-account key",
    "alibaba": "an Alibaba Cloud account through an AccessKey (optionally a RAM role)",
}


def add_common_arguments(parser: Any, name_help: str) -> None:
    parser.add_argument("--name", required=True, help=name_help)
    parser.add_argument("--organization", help="organization slug (default: the only one, or 'default')")


def cloud_as_json(cloud: Any) -> dict[str, Any]:
    """What is safe to show of a cloud: never its credentials."""
    return {
        "id": cloud.pk,
        "name": cloud.name,
        "provider": cloud.provider,
        "organization": cloud.organization.slug,
        "account_id": cloud.account_id,
        "auth_type": cloud.auth_type,
        "auth_settings": cloud.auth_settings,
        "regions": cloud.regions,
        "status": cloud.status,
        "status_detail": cloud.status_detail,
    }


def resolve_organization(slug: str | None) -> Any:
    """The organization named, else the only one, else "default" (created when there is none)."""
    from insightcloud.inventory.models import Organization

    if slug:
        try:
            return Organization.objects.get(slug=slug)
        except Organization.DoesNotExist:
            raise CommandError(f"no organization with slug {slug!r}") from None
    organizations = list(Organization.objects.order_by("pk")[:2])
    if len(organizations) == 1:
        return organizations[0]
    if not organizations:
        return Organization.objects.create(slug="default", name="Default")
    try:
        return Organization.objects.get(slug="default")
    except Organization.DoesNotExist:
        raise CommandError("several organizations exist: choose one with --organization SLUG") from None


class Command(BaseCommand):
    help = "Onboard clouds: aws, aws-org, azure, gcp or alibaba (credentials are checked before anything is saved)."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="{aws,aws-org,azure,gcp,alibaba}")
        for kind in ("aws", "aws-org"):
            self.add_aws_arguments(kinds.add_parser(kind, help=f"onboard {ONBOARDING_HELP[kind]}"))
        for provider, module in self.other_clouds().items():
            sub = kinds.add_parser(provider, help=f"onboard {ONBOARDING_HELP[provider]}")
            add_common_arguments(sub, "cloud name (one per subscription/project: a suffix is added)")
            module.add_arguments(sub)

    @staticmethod
    def other_clouds() -> dict[str, Any]:
        from harvesters.alibaba import onboard as alibaba
        from harvesters.azure import onboard as azure
        from harvesters.gcp import onboard as gcp

        return {"azure": azure, "gcp": gcp, "alibaba": alibaba}

    def add_aws_arguments(self, parser: CommandParser) -> None:
        add_common_arguments(parser, "cloud name (aws-org: prefix of the member clouds' names)")
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
        parser.add_argument(
            "--include-management", action="store_true", help="aws-org: onboard the management account too"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["kind"] in self.other_clouds():
                result: Any = self.add_other(options)
            else:
                base_type, credentials = self.base_credentials(options)
                if options["kind"] == "aws":
                    result = self.add_account(base_type, credentials, options)
                else:
                    result = self.add_organization(base_type, credentials, options)
        except (HarvestError, ValueError) as exc:
            raise CommandError(" ".join(str(exc).split())) from None
        self.stdout.write(json.dumps(result, indent=2, sort_keys=True))

    def add_other(self, options: dict) -> list[dict]:
        """Azure, GCP, Alibaba: the cloud's own onboarding checks the credentials, then saves."""
        module = self.other_clouds()[options["kind"]]
        organization = resolve_organization(options["organization"])
        clouds = module.onboard(options, options.get("stdin") or sys.stdin, organization)
        return [cloud_as_json(cloud) for cloud in clouds]

    # --- credentials ----------------------------------------------------------------------

    def base_credentials(self, options: dict) -> tuple[str, dict]:
        keys, instance = bool(options["access_key_id"]), options["instance_role"]
        if keys and instance:
            raise CommandError("choose one of --access-key-id and --instance-role")
        if options["secret_stdin"] and not keys:
            raise CommandError("--secret-stdin needs --access-key-id")
        if not 900 <= options["duration"] <= 43200:
            raise CommandError("--duration must be between 900 and 43200 seconds")
        if options["kind"] == "aws" and not (keys or instance or options["role_arn"]):
            raise CommandError("give --access-key-id with --secret-stdin, --role-arn ARN, or --instance-role")
        if options["kind"] == "aws-org":
            if options["role_arn"]:
                raise CommandError("aws-org reaches members through --role-name; --role-arn is for one account")
            if not options["role_name"]:
                raise CommandError("aws-org needs --role-name ROLE (the role to assume in each member account)")
            if not (keys or instance):
                raise CommandError("aws-org needs the management account's --access-key-id or --instance-role")
        if not keys:
            return "instance_role", {}
        if not options["secret_stdin"]:
            raise CommandError("give the secret access key on standard input with --secret-stdin")
        stream = options.get("stdin") or sys.stdin
        secret = stream.readline().strip()
        if not secret:
            raise CommandError("no secret access key on standard input")
        return "keys", {"access_key_id": options["access_key_id"], "secret_access_key": secret}

    def settings_for(self, options: dict, role_arn: str | None) -> dict:
        settings: dict[str, Any] = {}
        if options["endpoint_url"]:
            settings["endpoint_url"] = options["endpoint_url"]
        if role_arn:
            settings.update(role_arn=role_arn, session_name=options["session_name"], duration=options["duration"])
        return settings

    def authenticate(self, auth_type: str, settings: dict, credentials: dict) -> Any:
        """Authenticate as the harvester will (STS get_caller_identity, assume-role)."""
        from harvesters.aws import session

        return session.connect(auth_type, settings, credentials)

    def regions_for(self, ctx: Any, options: dict) -> list[str]:
        from harvesters.base import get_driver

        try:
            enabled = get_driver("aws").regions(ctx)
        except Exception as exc:
            from harvesters.aws.session import describe

            raise CommandError(f"cannot list the account's regions: {describe(exc)}") from None
        if not options["regions"]:
            return enabled
        wanted = [region.strip() for region in options["regions"].split(",") if region.strip()]
        unknown = [region for region in wanted if region not in enabled]
        if not wanted:
            raise CommandError(f"no region in --regions {options['regions']!r}")
        if unknown:
            raise CommandError(f"region(s) not enabled for the account: {', '.join(unknown)}")
        return wanted

    # --- one account ------------------------------------------------------------------------

    def add_account(self, base_type: str, credentials: dict, options: dict) -> dict:
        from insightcloud.inventory.models import CloudAccount

        organization = resolve_organization(options["organization"])
        if CloudAccount.objects.filter(organization=organization, name=options["name"]).exists():
            raise CommandError(f"a cloud named {options['name']!r} already exists in {organization.slug}")
        auth_type = "assume_role" if options["role_arn"] else base_type
        credentials = dict(credentials)
        if options["external_id"]:
            credentials["external_id"] = options["external_id"]
        settings = self.settings_for(options, options["role_arn"])
        ctx = self.authenticate(auth_type, settings, credentials)
        regions = self.regions_for(ctx, options)
        try:
            cloud = CloudAccount.objects.create(
                organization=organization,
                provider="aws",
                name=options["name"],
                account_id=ctx.account_id,
                auth_type=auth_type,
                auth_settings=settings,
                credentials=credentials,
                regions=regions,
            )
        except IntegrityError:
            raise CommandError(f"a cloud named {options['name']!r} already exists in {organization.slug}") from None
        return cloud_as_json(cloud)

    # --- an organization --------------------------------------------------------------------

    def add_organization(self, base_type: str, credentials: dict, options: dict) -> dict:
        from harvesters.aws.session import describe
        from insightcloud.inventory.models import CloudAccount, CloudStatus

        organization = resolve_organization(options["organization"])
        settings = self.settings_for(options, None)
        management = self.authenticate(base_type, settings, credentials)
        try:
            client = management.client("organizations")
            management_id = client.describe_organization()["Organization"]["MasterAccountId"]
            accounts = [
                account
                for page in client.get_paginator("list_accounts").paginate()
                for account in page.get("Accounts", [])
            ]
        except Exception as exc:
            raise CommandError(f"cannot list the organization's accounts: {describe(exc)}") from None

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
            if account_id == management_id and not options["include_management"]:
                continue
            inactive = account.get("Status") in ORG_INACTIVE
            cloud = existing.get(account_id)
            if cloud is not None:
                if inactive and cloud.status != CloudStatus.CLOSED:
                    self.close(cloud, f"account is {account['Status']} in the organization")
                    result["closed"].append(cloud_as_json(cloud))
                else:
                    result["unchanged"].append(cloud.name)
                continue
            if inactive:
                continue
            result["added"].append(cloud_as_json(self.add_member(organization, prefix, account, credentials, options)))
        for account_id, cloud in sorted(existing.items()):
            if account_id not in listed and cloud.status != CloudStatus.CLOSED:
                self.close(cloud, "account is no longer in the organization")
                result["closed"].append(cloud_as_json(cloud))
        return result

    def add_member(self, organization: Any, prefix: str, account: dict, credentials: dict, options: dict) -> Any:
        from insightcloud.inventory.models import CloudAccount, CloudStatus

        role_arn = f"arn:aws:iam::{account['Id']}:role/{options['role_name']}"
        settings = {**self.settings_for(options, role_arn), "aws_organization": prefix}
        credentials = dict(credentials)
        if options["external_id"]:
            credentials["external_id"] = options["external_id"]
        status, detail, regions = CloudStatus.PENDING, "", []
        try:
            ctx = self.authenticate("assume_role", settings, credentials)
            regions = self.regions_for(ctx, options)
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

    def close(self, cloud: Any, detail: str) -> None:
        from insightcloud.inventory.models import CloudStatus

        cloud.status, cloud.status_detail = CloudStatus.CLOSED, detail
        cloud.save(update_fields=["status", "status_detail", "updated_at"])

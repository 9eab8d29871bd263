"""``manage.py addcloud aws|aws-org|azure|gcp|alibaba --name NAME ...``: onboard clouds.

Each cloud brings its own options and checks (``harvesters/<cloud>/onboard.py``), shared with the
GUI's onboarding forms and the API, so the credentials are validated the same way everywhere
before anything is saved. The new clouds are printed as JSON, never their secrets.

``aws``: one account, with access keys (secret on standard input), an assumed role (from those
keys or the instance role) or the instance role.

``aws-org``: every member account of an AWS Organization, listed from the management account's
credentials and reached through ``arn:aws:iam::<id>:role/<ROLE>``. A re-run adds the new
accounts and marks the ones that left or were closed (status ``closed``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from harvesters.base import HarvestError

ONBOARDING_HELP = {
    "aws": "one AWS account (keys, assume-role or instance role)",
    "aws-org": "every member account of an AWS Organization",
    "azure": "Azure subscriptions through a service principal",
    "gcp": "GCP projects through a service-account key",
    "alibaba": "an Alibaba Cloud account through an AccessKey (optionally a RAM role)",
}
NAME_HELP = {
    "aws": "cloud name",
    "aws-org": "prefix of the member clouds' names",
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


def onboarding_modules() -> dict[str, Any]:
    """kind -> the module with add_arguments() and onboard(options, stdin, organization)."""
    from harvesters.alibaba import onboard as alibaba
    from harvesters.aws import onboard as aws
    from harvesters.azure import onboard as azure
    from harvesters.gcp import onboard as gcp

    return {"aws": aws, "aws-org": aws, "azure": azure, "gcp": gcp, "alibaba": alibaba}


class Command(BaseCommand):
    help = "Onboard clouds: aws, aws-org, azure, gcp or alibaba (credentials are checked before anything is saved)."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="{aws,aws-org,azure,gcp,alibaba}")
        for kind, module in onboarding_modules().items():
            sub = kinds.add_parser(kind, help=f"onboard {ONBOARDING_HELP[kind]}")
            add_common_arguments(
                sub, NAME_HELP.get(kind, "cloud name (one per subscription/project: a suffix is added)")
            )
            module.add_arguments(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        module = onboarding_modules()[options["kind"]]
        organization = resolve_organization(options["organization"])
        stdin = options.get("stdin") or sys.stdin
        try:
            if options["kind"] == "aws-org":
                outcome = module.onboard_organization(options, stdin, organization)
                result: Any = {
                    "added": [cloud_as_json(cloud) for cloud in outcome["added"]],
                    "closed": [cloud_as_json(cloud) for cloud in outcome["closed"]],
                    "unchanged": outcome["unchanged"],
                }
            else:
                clouds = [cloud_as_json(cloud) for cloud in module.onboard(options, stdin, organization)]
                # One AWS account prints as an object, as it always has; the others as a list.
                result = clouds[0] if options["kind"] == "aws" else clouds
        except (HarvestError, ValueError) as exc:
            raise CommandError(" ".join(str(exc).split())) from None
        self.stdout.write(json.dumps(result, indent=2, sort_keys=True))

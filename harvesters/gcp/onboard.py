"""``manage.py addcloud gcp``: a service-account key, and one project or every project under a node.

The key comes from a file or standard input, never from the command line. It is checked with
Google before anything is saved (a token, then the projects it can read); each project becomes
one CloudAccount with the key as its encrypted credentials.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from harvesters.base import HarvestError, InvalidCredentials, PermissionDenied
from harvesters.gcp.driver import AUTH_TYPE, list_regions

if TYPE_CHECKING:
    from harvesters.gcp.session import GcpContext


class OnboardingInputError(HarvestError, ValueError):
    """A bad option (endpoint, name, regions): a one-line message, nothing saved.

    A HarvestError so that addcloud reports it like a credentials problem, a ValueError because
    that is what it is.
    """


#: The APIs an --api-endpoint may name (harvesters.gcp.session.APIS, without importing the SDK here).
API_NAMES = ("compute", "storage", "iam", "sqladmin", "cloudkms", "container", "logging", "cloudresourcemanager")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key-file",
        metavar="PATH",
        help="service-account JSON key file; '-' or omitted: read the key from standard input",
    )
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--project-id", help="onboard this one project")
    scope.add_argument("--organization-id", help="onboard every active project under this organization")
    scope.add_argument("--folder-id", help="onboard every active project under this folder (and its sub-folders)")
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        help="base URL serving every API under /<api>/ (private endpoints, tests); default: Google's hosts",
    )
    parser.add_argument(
        "--api-endpoint",
        action="append",
        default=[],
        metavar="API=URL",
        help="one API's endpoint including its service path (compute=https://host/compute/v1/); repeatable",
    )
    parser.add_argument("--token-uri", metavar="URL", help="OAuth token endpoint instead of the key's token_uri")
    parser.add_argument("--ca-bundle", metavar="PATH", help="CA certificates to trust for the endpoints (PEM file)")
    parser.add_argument("--regions", help="comma-separated regions to harvest; default: every region that is up")


def read_key(options: dict, stdin: IO[str] | None) -> dict:
    from harvesters.gcp import session

    path = options.get("key_file")
    if path and path != "-":
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise InvalidCredentials(f"cannot read the key file {path}: {exc.strerror or exc}") from None
    else:
        text = stdin.read() if stdin is not None else ""
    if not text.strip():
        raise InvalidCredentials("no service-account key given (use --key-file PATH or standard input)")
    try:
        return session.parse_key(text)
    except ValueError as exc:
        raise InvalidCredentials(str(exc)) from None


def auth_settings_from(options: dict, key: dict) -> dict:
    """The non-secret settings stored with each project: who we are and where the APIs are."""
    from harvesters.gcp import session

    def check_url(url: str, what: str) -> str:
        try:
            return session.check_url(url, what)
        except ValueError as exc:
            raise OnboardingInputError(str(exc)) from None

    settings: dict[str, Any] = {"client_email": key["client_email"], "key_id": key.get("private_key_id")}
    if options.get("endpoint"):
        settings["endpoint"] = check_url(options["endpoint"], "--endpoint")
    endpoints = {}
    for item in options.get("api_endpoint") or []:
        api, sep, url = item.partition("=")
        if not sep or api not in API_NAMES:
            names = ", ".join(API_NAMES)
            raise OnboardingInputError(f"--api-endpoint expects API=URL with API one of {names}, got {item!r}")
        endpoints[api] = check_url(url, f"--api-endpoint {api}")
    if endpoints:
        settings["endpoints"] = endpoints
    if options.get("ca_bundle"):
        if not Path(options["ca_bundle"]).is_file():
            raise OnboardingInputError(f"--ca-bundle {options['ca_bundle']} is not a file")
        settings["ca_bundle"] = str(Path(options["ca_bundle"]).resolve())
    if options.get("token_uri"):
        settings["token_uri"] = check_url(options["token_uri"], "--token-uri")
    return settings


def _parent(options: dict) -> str | None:
    if options.get("organization_id"):
        return f"organizations/{str(options['organization_id']).removeprefix('organizations/')}"
    if options.get("folder_id"):
        return f"folders/{str(options['folder_id']).removeprefix('folders/')}"
    return None


def projects_under(ctx: GcpContext, parent: str) -> list[dict]:
    """Every active project under ``parent``, through its folders at any depth."""
    crm = ctx.api("cloudresourcemanager")
    projects: list[dict] = []
    pending = [parent]
    seen = set()
    while pending:
        node = pending.pop()
        if node in seen:
            continue
        seen.add(node)
        children = ctx.items(crm.projects().list, "projects", parent=node)
        projects.extend(p for p in children if p.get("state") == "ACTIVE")
        pending.extend(f["name"] for f in ctx.items(crm.folders().list, "folders", parent=node))
    return sorted(projects, key=lambda p: p["projectId"])


def discover_projects(ctx: GcpContext, options: dict) -> list[dict]:
    crm = ctx.api("cloudresourcemanager")
    parent = _parent(options)
    try:
        if parent is None:
            project_id = options["project_id"]
            project = ctx.execute(crm.projects().get(name=f"projects/{project_id}"))
            if project.get("state", "ACTIVE") != "ACTIVE":
                raise InvalidCredentials(f"project {project_id} is {project['state']}, not ACTIVE")
            return [project]
        projects = projects_under(ctx, parent)
    except (PermissionDenied, InvalidCredentials) as exc:
        where = parent or f"projects/{options['project_id']}"
        raise InvalidCredentials(f"the service account cannot read {where}: {exc}") from None
    except HarvestError as exc:
        if "HTTP 404" in str(exc):
            raise InvalidCredentials(f"{parent or options['project_id']} was not found") from None
        raise
    if not projects:
        raise InvalidCredentials(f"no active project the service account can read under {parent}")
    return projects


def onboard(options: dict, stdin: IO[str] | None, organization: Any) -> list[Any]:
    """Validate the key with Google, then create one CloudAccount per project (all or nothing)."""
    from django.db import transaction

    from harvesters.gcp import session
    from insightcloud.inventory.models import CloudAccount, Provider

    name = (options.get("name") or "").strip()
    if not name:
        raise OnboardingInputError("--name is required")
    key = read_key(options, stdin)
    settings = auth_settings_from(options, key)
    credentials = {"service_account_key": key}
    probe = session.connect(options.get("project_id") or key.get("project_id") or "", settings, credentials)
    projects = discover_projects(probe, options)
    wanted_regions = [r.strip() for r in (options.get("regions") or "").split(",") if r.strip()]
    parent = _parent(options)

    plans = []
    for project in projects:
        project_id = project["projectId"]
        cloud_name = name if len(projects) == 1 and not parent else f"{name} ({project_id})"
        plans.append((cloud_name, project, _regions_for(probe, project_id, wanted_regions)))
    taken = set(
        CloudAccount.objects.filter(organization=organization, name__in=[p[0] for p in plans]).values_list(
            "name", flat=True
        )
    )
    if taken:
        raise OnboardingInputError(f"a cloud named {sorted(taken)[0]!r} already exists in {organization}")

    created = []
    with transaction.atomic():
        for cloud_name, project, regions in plans:
            created.append(
                CloudAccount.objects.create(
                    organization=organization,
                    provider=Provider.GCP,
                    name=cloud_name,
                    account_id=project["projectId"],
                    auth_type=AUTH_TYPE,
                    auth_settings={
                        **settings,
                        "project_number": project.get("name", "").rsplit("/", 1)[-1],
                        "parent": project.get("parent"),
                    },
                    credentials=credentials,
                    regions=regions,
                )
            )
    return created


def _regions_for(probe: GcpContext, project_id: str, wanted: list[str]) -> list[str]:
    """The regions chosen (checked against the project's), else the project's regions.

    [] (every region, decided at each harvest) where Compute Engine is not enabled to say which.
    """
    try:
        available = list_regions(probe, project_id)
    except PermissionDenied:
        return wanted
    unknown = [region for region in wanted if region not in available]
    if unknown:
        raise OnboardingInputError(f"region(s) not available to project {project_id}: {', '.join(unknown)}")
    return wanted or available

"""Server-rendered pages. Lists share their FilterSet with the REST API; tables swap in place
through HTMX partials."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from insightcloud.accounts import audit
from insightcloud.accounts.filtersets import AuditEventFilterSet, export_events
from insightcloud.accounts.models import AccessLevel, User
from insightcloud.accounts.permissions import (
    audit_events_visible_to,
    can_cancel_job,
    can_manage_cloud,
    can_manage_resource,
    clouds_managed_by,
    clouds_visible_to,
    is_domain_admin,
    jobs_visible_to,
    may_view_administration,
    resource_groups_visible_to,
    resources_visible_to,
    sees_whole_domain,
)
from insightcloud.exports import FORMATS, streaming_export
from insightcloud.inventory import operations
from insightcloud.inventory.filtersets import ResourceFilterSet
from insightcloud.inventory.models import Organization, cloud_names
from insightcloud.inventory.tables import DEFAULT_COLUMNS, DeferredJoinPaginator, ResourceTable
from insightcloud.web.forms import EnqueueForm, FirstAdminForm, LoginForm
from insightcloud.web.group_views import inventory_grouping
from insightcloud.web.status import broker_state, database_state, processes_state
from scheduler.models import ACTIVE_STATUSES, Job, JobStatus

EXPORT_FIELDS = ("native_id", "name", "resource_type", "native_type", "provider", "region", "first_seen", "last_seen")


class InsightCloudLoginView(LoginView):
    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def dispatch(self, request, *args, **kwargs):  # noqa: ANN001, ANN201
        if not User.objects.exists():
            return redirect("setup")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):  # noqa: ANN001, ANN201
        response = super().form_valid(form)
        audit.record("login", request=self.request, target=form.get_user().username)
        return response


def setup(request):  # noqa: ANN001, ANN201
    """First run: create the first domain administrator; gone once any user exists."""
    if User.objects.exists():
        raise Http404("setup is done")
    form = FirstAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            organization, _ = Organization.objects.get_or_create(slug="default", defaults={"name": "Default"})
            user = form.save(commit=False)
            user.is_staff = user.is_superuser = True
            user.access_level = AccessLevel.DOMAIN_ADMIN
            user.organization = organization
            user.save()
            audit.record("setup.first_admin", actor=user, request=request, target=user.username)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("dashboard")
    return render(request, "web/setup.html", {"form": form})


def dashboard(request):  # noqa: ANN001, ANN201
    from insightcloud.web.dashboard import figures

    return render(request, "web/dashboard.html", figures(request.user))


@require_POST
def cloud_action(request, pk: int, operation: str):  # noqa: ANN001, ANN201
    cloud = get_object_or_404(clouds_visible_to(request.user), pk=pk)
    try:
        if operation == "harvest":
            job, created = operations.harvest_now(request.user, cloud, request)
            messages.success(request, f"Harvest job {job.pk} {'enqueued' if created else 'already queued'} (p0).")
        elif operation in ("pause", "resume"):
            operations.set_paused(request.user, cloud, operation == "pause", request)
            messages.success(request, f"{cloud.name} {operation}d.")
        elif operation == "delete":
            removed = operations.delete_cloud(request.user, cloud, request)
            messages.success(
                request, f"Deleted {cloud.name}: " + ", ".join(f"{n} {what}" for what, n in removed.items())
            )
            return redirect("clouds")
        else:
            raise Http404("unknown operation")
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    return redirect("cloud-detail", pk=cloud.pk)


def cloud_delete(request, pk: int):  # noqa: ANN001, ANN201
    """GET spells out what deleting removes; POST deletes."""
    cloud = get_object_or_404(clouds_visible_to(request.user), pk=pk)
    if not can_manage_cloud(request.user, cloud):
        raise PermissionDenied
    if request.method == "POST":
        name, removed = cloud.name, operations.delete_cloud(request.user, cloud, request)
        messages.success(request, f"Deleted {name}: " + ", ".join(f"{n} {what}" for what, n in removed.items()))
        return redirect("clouds")
    return render(request, "web/cloud_delete.html", {"cloud": cloud, "impact": operations.deletion_impact(cloud)})


def inventory(request):  # noqa: ANN001, ANN201
    # No join and no JSON blobs in the page query: clouds come in one extra query for the page.
    queryset = resources_visible_to(request.user).defer("raw", "properties").prefetch_related(cloud_names())
    filterset = ResourceFilterSet(request.GET or None, queryset=queryset)
    resources = filterset.qs if filterset.is_bound and filterset.is_valid() else queryset.filter(deleted_at=None)
    export = request.GET.get("export")
    if export in ("csv", "json"):
        audit.record("inventory.export", request=request, format=export, filters=request.GET.dict())
        return export_resources(resources, export)
    columns = [c for c in request.GET.getlist("columns") if c in ResourceTable.base_columns] or list(DEFAULT_COLUMNS)
    table = ResourceTable(resources, exclude=[c for c in ResourceTable.base_columns if c not in columns])
    # Never counts the whole (filtered) inventory, and reads deep pages' ids from the index first:
    # pages stay fast over millions.
    RequestConfig(request, paginate={"per_page": 50, "paginator_class": DeferredJoinPaginator}).configure(table)
    context = {
        "filter": filterset,
        "table": table,
        "columns": columns,
        "all_columns": list(ResourceTable.base_columns),
        **inventory_grouping(request),
    }
    template = "web/inventory_table.html" if request.headers.get("HX-Request") else "web/inventory.html"
    return render(request, template, context)


def export_resources(resources, fmt: str) -> HttpResponse:  # noqa: ANN001
    rows = resources.values(*EXPORT_FIELDS, "cloud__name", "cloud__account_id", "tags", "properties")

    def records():
        for row in rows.iterator(chunk_size=2000):
            row["resource_id"] = row.pop("native_id")
            row["cloud_name"] = row.pop("cloud__name")
            row["account_id"] = row.pop("cloud__account_id")
            yield row

    header = ["resource_id", "name", "resource_type", "native_type", "provider", "cloud_name", "account_id"]
    header += ["region", "first_seen", "last_seen", "tags"]
    return streaming_export(records(), header, fmt, "inventory")


def resource_detail(request, pk: int):  # noqa: ANN001, ANN201
    resource = get_object_or_404(resources_visible_to(request.user).select_related("cloud"), pk=pk)
    changes = resource.changes.order_by("-created_at")[:100]
    from compliance.library import insights_for
    from scheduler.actions import actions_for, registered_for

    catalog = insights_for(request.user.organization_id)
    findings = [
        (finding, catalog.get(finding.insight_id))
        for finding in resource.findings.select_related("exemption").order_by("status", "-last_seen")[:100]
    ]
    # Actions that need parameters (an access key id …) are run from the API or the CLI.
    applicable = [a for a in actions_for(resource) if not a.parameters]
    not_now = [a for a in registered_for(resource.native_type) if not a.parameters and a not in applicable]
    job_id = request.GET.get("job", "")
    action_job = _action_job(request.user, resource, int(job_id)) if job_id.isdigit() else None
    context = {
        "resource": resource,
        "actions": applicable,
        "actions_not_now": [] if resource.deleted_at else not_now,
        "progress": ActionProgress.of(action_job) if action_job else None,
        "groups": resource_groups_visible_to(request.user).filter(resources=resource).order_by("name"),
        "changes": changes,
        "findings": findings,
        "can_manage": can_manage_resource(request.user, resource),
        "properties_json": json.dumps(resource.properties, indent=2, sort_keys=True, cls=DjangoJSONEncoder),
        "raw_json": json.dumps(resource.raw, indent=2, sort_keys=True, cls=DjangoJSONEncoder),
    }
    return render(request, "web/resource_detail.html", context)


def jobs(request):  # noqa: ANN001, ANN201
    """Queue depths and times (domain-wide users), this user's visible jobs, cancel and enqueue now."""
    from scheduler.diagnostics import queue_report

    if request.method == "POST" and request.POST.get("cancel"):
        from scheduler.runner import cancel

        job = get_object_or_404(jobs_visible_to(request.user), pk=request.POST["cancel"])
        if not can_cancel_job(request.user, job):
            raise PermissionDenied
        outcome = cancel(job.pk, by=request.user.username)
        audit.record("job.cancel", request=request, target=job, outcome=outcome)
        messages.success(request, f"Job {job.pk}: {outcome}.")
        return redirect("jobs")
    enqueue_form = EnqueueForm(actor=request.user)
    if request.method == "POST" and request.POST.get("enqueue"):
        enqueue_form = EnqueueForm(request.POST, actor=request.user)
        if enqueue_form.is_valid():
            data = enqueue_form.cleaned_data
            try:
                job, created = operations.enqueue_now(
                    request.user, data["kind"], data["cloud"], request, full=data["full"]
                )
            except PermissionDenied as exc:  # a paused cloud
                messages.error(request, str(exc))
            else:
                state = "enqueued" if created else "already queued"
                messages.success(request, f"{job.kind} of {data['cloud'].name}: job {job.pk} {state} (p0).")
                return redirect("jobs")
    recent = jobs_visible_to(request.user).select_related("cloud").order_by("-enqueued_at")[:100]
    context = {
        "jobs": recent,
        "report": queue_report() if sees_whole_domain(request.user) else None,
        "failures": jobs_visible_to(request.user).filter(status="failed").order_by("-finished_at")[:10],
        "can_cancel": is_domain_admin(request.user) or clouds_managed_by(request.user).exists(),
        "enqueue_form": enqueue_form if enqueue_form.fields["kind"].choices else None,
    }
    template = "web/jobs_live.html" if request.headers.get("HX-Request") else "web/jobs.html"
    return render(request, template, context)


def system(request):  # noqa: ANN001, ANN201
    from django.conf import settings

    from scheduler.strategy import default_intervals

    database = database_state()
    scheduler, workers = processes_state() if database["ok"] else ({}, [])
    context = {
        "database": database,
        "broker": broker_state(),
        "scheduler": scheduler,
        "workers": workers,
        "version": settings.VERSION,
        "administration": may_view_administration(request.user),
        "harvest_defaults": default_intervals(),
        "metrics": {
            "backend": settings.METRICS_BACKEND,
            "namespace": settings.METRICS_NAMESPACE,
            "interval": settings.METRICS_INTERVAL_SECONDS,
            "where": settings.METRICS_REGION
            if settings.METRICS_BACKEND == "cloudwatch"
            else settings.METRICS_GCP_PROJECT or "the key's project",
        },
    }
    return render(request, "web/system.html", context)


def audit_log(request):  # noqa: ANN001, ANN201
    """Who did what: domain-wide users see all, organization admins their organization, others themselves.
    Filter by who, what and time range; export the filtered events as CSV or JSON."""
    filterset = AuditEventFilterSet(request.GET or None, queryset=audit_events_visible_to(request.user))
    events = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    export = request.GET.get("export")
    if export in FORMATS:
        return export_events(request, events, export)
    return render(request, "web/audit.html", {"events": events[:500], "filter": filterset})


def api_keys(request):  # noqa: ANN001, ANN201
    """Your API keys: make one (shown once), see when each was last used, revoke."""

    from insightcloud.accounts.administration import revoke_key
    from insightcloud.accounts.api_keys import create_api_key
    from insightcloud.accounts.models import ApiKey

    new_key = None
    if request.method == "POST":
        if request.POST.get("revoke"):
            key = get_object_or_404(ApiKey, pk=request.POST["revoke"], user=request.user)
            revoke_key(request.user, key, request)
        elif name := request.POST.get("name", "").strip():
            key, new_key = create_api_key(request.user, name[:100])
            audit.record("api_key.create", request=request, target=key)
    keys = ApiKey.objects.filter(user=request.user).order_by("-created_at")
    return render(request, "web/api_keys.html", {"keys": keys, "new_key": new_key})


@require_POST
def resource_action(request, pk: int):  # noqa: ANN001, ANN201
    """Run an on-demand action on a resource (p0); the page asked for confirmation first and
    then follows the job live."""
    from scheduler.actions import request_action

    resource = get_object_or_404(resources_visible_to(request.user), pk=pk)
    if not can_manage_resource(request.user, resource):
        raise PermissionDenied
    name = request.POST.get("action", "")
    try:
        job, created = request_action(name, resource.pk, requested_by=request.user.username)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("resource-detail", pk=pk)
    audit.record("resource.action", request=request, target=resource, action_name=name, job=job.pk)
    messages.success(request, f"{name}: job {job.pk} {'enqueued' if created else 'already queued'} (p0).")
    return redirect(f"{reverse('resource-detail', args=[pk])}?job={job.pk}#action-status")


def _action_job(user, resource, job_id: int):  # noqa: ANN001, ANN202
    """An action job on this resource that the user may see, or None."""
    from scheduler.actions import ACTION_KIND

    job = jobs_visible_to(user).filter(pk=job_id, kind=ACTION_KIND, cloud_id=resource.cloud_id).first()
    return job if job is not None and job.arguments.get("resource_id") == resource.pk else None


@dataclass
class ActionProgress:
    """Where an action stands: its job, then the harvest that brings the inventory up to date."""

    job: Any
    harvest: Any = None

    @classmethod
    def of(cls, job) -> ActionProgress:  # noqa: ANN001
        harvest_id = (job.result or {}).get("harvest_job") if job.status == JobStatus.SUCCEEDED else None
        return cls(job, Job.objects.filter(pk=harvest_id).first() if harvest_id else None)

    @property
    def live(self) -> bool:
        """Still worth polling: the action or its harvest has not finished."""
        harvesting = self.harvest is not None and self.harvest.status in ACTIVE_STATUSES
        return self.job.status in ACTIVE_STATUSES or harvesting

    @property
    def refreshed(self) -> bool:
        """The harvest after the action finished: the inventory shows the resource as it is now."""
        return self.harvest is not None and self.harvest.status == JobStatus.SUCCEEDED

    @property
    def outcome(self) -> dict:
        return (self.job.result or {}).get("outcome") or {}


def resource_action_status(request, pk: int, job_id: int):  # noqa: ANN001, ANN201
    """The live status fragment an action's page polls; once the follow-up harvest is done the
    page reloads (HX-Refresh) to show the resource's new properties, history and actions."""
    resource = get_object_or_404(resources_visible_to(request.user), pk=pk)
    job = _action_job(request.user, resource, job_id)
    if job is None:
        raise Http404("no such action job on this resource")
    progress = ActionProgress.of(job)
    response = render(request, "web/action_status.html", {"resource": resource, "progress": progress})
    if request.headers.get("HX-Request") and progress.refreshed:
        response["HX-Refresh"] = "true"
    return response

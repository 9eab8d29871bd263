"""Cloud pages: onboarding forms per provider, and a cloud's harvest status and strategy."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from insightcloud.accounts.permissions import can_add_clouds, can_manage_cloud, clouds_visible_to
from insightcloud.inventory import operations
from insightcloud.inventory.onboarding import FORMS, OnboardingRefused, add_clouds

#: Listing errors of this kind mean the credentials lack a permission the type's harvester needs.
PERMISSION_ERROR = "PermissionDenied"


def cloud_add(request, provider: str):  # noqa: ANN001, ANN201
    """GET: the provider's form. POST: validate with the provider, save, go to the new cloud."""
    form_class = FORMS.get(provider)
    if form_class is None:
        raise Http404("unknown provider")
    if not can_add_clouds(request.user):
        raise PermissionDenied
    form = form_class(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            clouds = add_clouds(request.user, form, request)
        except OnboardingRefused as exc:
            form.add_error(None, str(exc))
        else:
            names = ", ".join(cloud.name for cloud in clouds)
            messages.success(request, f"Added {names}; its first harvest is planned.")
            if len(clouds) == 1:
                return redirect("cloud-detail", pk=clouds[0].pk)
            return redirect("clouds")
    context = {"form": form, "provider": provider, "providers": [(name, f.title) for name, f in FORMS.items()]}
    return render(request, "web/cloud_add.html", context)


def cloud_list(request):  # noqa: ANN001, ANN201
    """Visible clouds; ``?status=`` keeps one status, ``?errors=1`` the clouds with errors (dashboard links)."""
    from insightcloud.web.dashboard import clouds_with_errors

    clouds = clouds_visible_to(request.user)
    status = request.GET.get("status", "")
    if status:
        clouds = clouds.filter(status=status)
    errors_only = request.GET.get("errors") == "1"
    if errors_only:
        clouds = clouds_with_errors(clouds)
    clouds = clouds.select_related("organization").annotate(resource_count=Count("resources")).order_by("name")
    context = {"clouds": clouds, "status": status, "errors_only": errors_only, "can_add": can_add_clouds(request.user)}
    return render(request, "web/clouds.html", context)


def harvest_problems(cloud) -> tuple[list, list]:  # noqa: ANN001
    """(recent failures and listing errors, missing permissions) from the cloud's latest harvest jobs."""
    from insightcloud.registry import registry

    errors, missing, seen = [], {}, set()
    for job in cloud.jobs.filter(kind="harvest", status__in=["succeeded", "failed"]).order_by("-finished_at")[:20]:
        if job.error:
            errors.append({"job": job, "where": "", "error": job.error})
        for line in (job.result or {}).get("errors", []):
            where, _, error = line.partition(": ")
            if where in seen:  # only the newest error of each (type, region)
                continue
            seen.add(where)
            errors.append({"job": job, "where": where, "error": error})
            native_type = where.split(" ")[0]
            if error.startswith(PERMISSION_ERROR) and native_type not in missing:
                try:
                    needed = registry.get("resource_types", native_type).permissions
                except Exception:  # a type no longer registered
                    needed = ()
                missing[native_type] = {"native_type": native_type, "permissions": needed, "error": error}
    return errors[:30], list(missing.values())


def cloud_detail(request, pk: int):  # noqa: ANN001, ANN201
    from scheduler import planner, strategy

    cloud = get_object_or_404(clouds_visible_to(request.user).select_related("organization"), pk=pk)
    jobs = cloud.jobs.order_by("-enqueued_at")[:20]
    by_type = cloud.resources.filter(deleted_at__isnull=True).values("native_type").annotate(n=Count("id"))
    errors, missing_permissions = harvest_problems(cloud)
    current = planner.strategy_of(cloud)
    disabled = set(current.disabled_regions) if current else set()
    context = {
        "cloud": cloud,
        "jobs": jobs,
        "by_type": by_type,
        "can_manage": can_manage_cloud(request.user, cloud),
        "harvest_types": strategy.overview(cloud),
        "regions": [(region, region not in disabled) for region in strategy.selectable_regions(cloud)],
        "min_interval": strategy.MIN_INTERVAL_MINUTES,
        "max_interval": strategy.MAX_INTERVAL_MINUTES,
        "harvest_errors": errors,
        "missing_permissions": missing_permissions,
    }
    return render(request, "web/cloud_detail.html", context)


@require_POST
def cloud_harvest_strategy(request, pk: int):  # noqa: ANN001, ANN201
    """Save the regions switched on and the interval per type (blank: the default)."""
    from scheduler.planner import strategy_of
    from scheduler.strategy import StrategyError, selectable_regions, type_specs

    cloud = get_object_or_404(clouds_visible_to(request.user), pk=pk)
    enabled = set(request.POST.getlist("enabled_regions"))
    native_types = {spec.native_type for spec in type_specs(cloud.provider)}
    current = strategy_of(cloud)
    # The page edits native types; overrides by normalized type (made through the API) are kept.
    intervals = {
        key: minutes for key, minutes in (current.intervals if current else {}).items() if key not in native_types
    }
    intervals.update(
        {
            key.removeprefix("interval:"): value.strip()
            for key, value in request.POST.items()
            if key.startswith("interval:") and value.strip()
        }
    )
    try:
        operations.update_harvest_strategy(
            request.user,
            cloud,
            request,
            intervals=intervals,
            disabled_regions=[region for region in selectable_regions(cloud) if region not in enabled],
        )
    except StrategyError as exc:
        for problems in exc.fields.values():
            for problem in problems:
                messages.error(request, problem)
    else:
        messages.success(request, "Harvest strategy saved.")
    return redirect("cloud-detail", pk=cloud.pk)

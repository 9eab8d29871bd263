"""Resource groups in the GUI: the list with member counts, create one, and add / remove the
resources selected on the inventory page. The rules and the audit trail live in
insightcloud/inventory/groups.py (shared with the API)."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from insightcloud.accounts.permissions import (
    can_manage_resource_groups,
    is_domain_admin,
    organizations_visible_to,
    resource_groups_visible_to,
    sees_whole_domain,
)
from insightcloud.inventory.groups import (
    GroupError,
    add_resources,
    create_group,
    groups_with_member_counts,
    remove_resources,
    visible_resources,
)


def may_group(user) -> bool:  # noqa: ANN001
    """Whether to offer the 'add to group' controls at all."""
    return can_manage_resource_groups(user, user.organization_id)


def inventory_grouping(request) -> dict:  # noqa: ANN001
    """What the inventory page needs for its selection controls (nothing for users who cannot group)."""
    if not may_group(request.user):
        return {"can_group": False}
    groups = resource_groups_visible_to(request.user).select_related("organization").order_by("name")
    if not is_domain_admin(request.user):
        groups = groups.filter(organization_id=request.user.organization_id)
    current = request.GET.get("resource_group", "")
    current_group = groups.filter(pk=current).first() if current.isdigit() else None
    return {"can_group": True, "group_choices": groups[:500], "current_group": current_group}


def group_list(request):  # noqa: ANN001, ANN201
    """GET lists the groups; POST creates one (name, description, organization for domain admins)."""
    if request.method == "POST":
        organization = request.user.organization
        if is_domain_admin(request.user) and request.POST.get("organization"):
            organization = get_object_or_404(organizations_visible_to(request.user), pk=request.POST["organization"])
        if organization is None:
            messages.error(request, "You belong to no organization.")
            return redirect("groups")
        try:
            group = create_group(
                request.user, organization, request.POST.get("name", ""), request.POST.get("description", ""), request
            )
        except GroupError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Group {group.name} created; select resources in the inventory to add them.")
        return redirect("groups")
    context = {
        "groups": groups_with_member_counts(request.user),
        "can_create": may_group(request.user),
        "organizations": organizations_visible_to(request.user) if is_domain_admin(request.user) else None,
        "show_organization": sees_whole_domain(request.user),
    }
    return render(request, "web/groups.html", context)


def _back(request, group=None):  # noqa: ANN001, ANN202
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    if group is not None:
        return redirect(f"{reverse('inventory')}?resource_group={group.pk}")
    return redirect("inventory")


@require_POST
def group_add(request):  # noqa: ANN001, ANN201
    """Add the selected resources to an existing group, or to a new one made for them."""
    try:
        resources = visible_resources(request.user, request.POST.getlist("resources"))
        new_name = request.POST.get("new_group", "").strip()
        with transaction.atomic():
            if new_name:
                organizations = {r.cloud.organization for r in resources}
                if len(organizations) > 1:
                    raise GroupError("the selection spans several organizations; a group holds one's resources")
                organization = organizations.pop() if organizations else request.user.organization
                group = create_group(request.user, organization, new_name, request=request)
            else:
                chosen = request.POST.get("group", "")
                if not chosen.isdigit():
                    raise GroupError("choose a group, or name a new one")
                group = get_object_or_404(resource_groups_visible_to(request.user), pk=chosen)
            added = add_resources(request.user, group, resources, request)
    except GroupError as exc:
        messages.error(request, str(exc))
        return _back(request)
    messages.success(request, f"Added {added} resource(s) to {group.name}.")
    return redirect(f"{reverse('inventory')}?resource_group={group.pk}")


@require_POST
def group_remove(request, pk: int):  # noqa: ANN001, ANN201
    group = get_object_or_404(resource_groups_visible_to(request.user), pk=pk)
    try:
        resources = visible_resources(request.user, request.POST.getlist("resources"))
        removed = remove_resources(request.user, group, resources, request)
    except GroupError as exc:
        messages.error(request, str(exc))
        return _back(request, group)
    messages.success(request, f"Removed {removed} resource(s) from {group.name}.")
    return _back(request, group)

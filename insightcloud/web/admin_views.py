"""The System section's administration: users, roles and everyone's API keys.

Domain admins administer everyone, organization admins their organization (never a domain-wide
user), domain viewers read; basic users get 403. A user or role out of the caller's reach is 404.
Every change goes through insightcloud.accounts.administration, which writes the audit log.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from insightcloud.accounts import administration
from insightcloud.accounts.permissions import (
    api_keys_visible_to,
    can_revoke_api_key,
    may_administer,
    may_view_administration,
    roles_administered_by,
    roles_visible_to,
    users_administered_by,
    users_visible_to,
)
from insightcloud.web.admin_forms import RoleForm, UserForm


def _require_view(request) -> None:  # noqa: ANN001
    if not may_view_administration(request.user):
        raise PermissionDenied("user administration is for administrators")


def _require_change(request, administered, pk: int):  # noqa: ANN001, ANN202
    """The object as the administrator may change it; a domain viewer, who may only look, gets 403."""
    if not may_administer(request.user):
        raise PermissionDenied("domain viewers may look but not change")
    return get_object_or_404(administered(request.user), pk=pk)


def _number(value: str | None) -> int:
    if not (value or "").isdigit():
        raise Http404("no such object")
    return int(value)


def user_list(request):  # noqa: ANN001, ANN201
    _require_view(request)
    users = users_visible_to(request.user).select_related("organization").prefetch_related("roles")
    context = {"users": users.order_by("username"), "can_change": may_administer(request.user)}
    return render(request, "web/admin_users.html", context)


def user_create(request):  # noqa: ANN001, ANN201
    _require_view(request)
    if not may_administer(request.user):
        raise PermissionDenied("domain viewers may look but not change")
    form = UserForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        user = administration.create_user(request.user, form.user_fields(), form.cleaned_data["password1"], request)
        messages.success(request, f"User {user.username} created.")
        return redirect("admin-user", pk=user.pk)
    return render(request, "web/admin_user_form.html", {"form": form, "can_change": True})


def user_detail(request, pk: int):  # noqa: ANN001, ANN201
    """Edit, reset the password, deactivate or reactivate, delete; GET for domain viewers shows it read-only."""
    _require_view(request)
    user = get_object_or_404(users_visible_to(request.user).select_related("organization"), pk=pk)
    form, password_form = UserForm(instance=user, actor=request.user), SetPasswordForm(user)
    if request.method == "POST":
        user = _require_change(request, users_administered_by, pk)
        operation = request.POST.get("operation")
        if operation == "edit":
            form = UserForm(request.POST, instance=user, actor=request.user)
            if form.is_valid():
                fresh = users_administered_by(request.user).get(pk=pk)  # the form changed its instance already
                try:
                    administration.update_user(request.user, fresh, form.user_fields(), request)
                except PermissionDenied as exc:  # deactivating yourself
                    messages.error(request, str(exc))
                else:
                    messages.success(request, f"User {fresh.username} saved.")
                return redirect("admin-user", pk=pk)
        elif operation == "password":
            password_form = SetPasswordForm(user, request.POST)
            if password_form.is_valid():
                administration.reset_password(request.user, user, password_form.cleaned_data["new_password1"], request)
                messages.success(request, f"Password of {user.username} reset.")
                return redirect("admin-user", pk=pk)
        elif operation in ("activate", "deactivate", "delete"):
            try:
                if operation == "delete":
                    administration.delete_user(request.user, user, request)
                else:
                    administration.update_user(request.user, user, {"is_active": operation == "activate"}, request)
            except PermissionDenied as exc:  # yourself
                messages.error(request, str(exc))
                return redirect("admin-user", pk=pk)
            messages.success(request, f"User {user.username} {operation}d.")
            return redirect("admin-users") if operation == "delete" else redirect("admin-user", pk=pk)
        else:
            raise PermissionDenied("unknown operation")
    context = {
        "subject": user,
        "form": form,
        "password_form": password_form,
        "can_change": may_administer(request.user),
        "keys": user.api_keys.order_by("-created_at"),
    }
    return render(request, "web/admin_user_form.html", context)


def role_list(request):  # noqa: ANN001, ANN201
    _require_view(request)
    roles = roles_visible_to(request.user).select_related("organization").prefetch_related("clouds", "users")
    context = {"roles": roles.order_by("organization__name", "name"), "can_change": may_administer(request.user)}
    return render(request, "web/admin_roles.html", context)


def role_create(request):  # noqa: ANN001, ANN201
    _require_view(request)
    if not may_administer(request.user):
        raise PermissionDenied("domain viewers may look but not change")
    form = RoleForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        role = administration.save_role(request.user, None, form.role_fields(), request)
        messages.success(request, f"Role {role.name} created.")
        return redirect("admin-role", pk=role.pk)
    return render(request, "web/admin_role_form.html", {"form": form, "can_change": True})


def role_detail(request, pk: int):  # noqa: ANN001, ANN201
    _require_view(request)
    role = get_object_or_404(roles_visible_to(request.user), pk=pk)
    form = RoleForm(instance=role, actor=request.user)
    if request.method == "POST":
        role = _require_change(request, roles_administered_by, pk)
        if request.POST.get("operation") == "delete":
            administration.delete_role(request.user, role, request)
            messages.success(request, f"Role {role.name} deleted.")
            return redirect("admin-roles")
        form = RoleForm(request.POST, instance=role, actor=request.user)
        if form.is_valid():
            fresh = roles_administered_by(request.user).get(pk=pk)  # the form changed its instance already
            administration.save_role(request.user, fresh, form.role_fields(), request)
            messages.success(request, f"Role {fresh.name} saved.")
            return redirect("admin-role", pk=pk)
    context = {"role": role, "form": form, "can_change": may_administer(request.user)}
    return render(request, "web/admin_role_form.html", context)


def api_key_list(request):  # noqa: ANN001, ANN201
    """Every API key of the users the caller may see, with their owner; administrators revoke them."""
    _require_view(request)
    if request.method == "POST":
        key = get_object_or_404(api_keys_visible_to(request.user), pk=_number(request.POST.get("revoke")))
        if not can_revoke_api_key(request.user, key):
            raise PermissionDenied("you may see this key but not revoke it")
        if administration.revoke_key(request.user, key, request):
            messages.success(request, f"Key {key} of {key.user.username} revoked.")
        return redirect("admin-api-keys")
    keys = api_keys_visible_to(request.user).select_related("user", "user__organization").order_by("-created_at")
    if username := request.GET.get("user"):
        keys = keys.filter(user__username=username)
    return render(request, "web/admin_api_keys.html", {"keys": keys, "can_change": may_administer(request.user)})

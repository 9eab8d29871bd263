"""REST API v1 administration: users and roles (domain admins everywhere, organization admins in
their organization, domain viewers read-only)."""

from __future__ import annotations

from rest_framework import permissions, viewsets

from insightcloud.accounts import administration
from insightcloud.accounts.permissions import (
    may_administer,
    may_view_administration,
    roles_administered_by,
    roles_visible_to,
    users_administered_by,
    users_visible_to,
)
from insightcloud.api import admin_serializers as s


class AdministrationAccess(permissions.BasePermission):
    """Reading needs an administrator or a domain viewer; changing needs an administrator."""

    message = "user and role administration is for administrators"

    def has_permission(self, request, view) -> bool:  # noqa: ANN001
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in permissions.SAFE_METHODS:
            return may_view_administration(user)
        return may_administer(user)


class UserViewSet(viewsets.ModelViewSet):
    """Users. Passwords are write-only; deactivate with ``is_active: false`` (keeps the audit trail)."""

    serializer_class = s.UserSerializer
    permission_classes = [AdministrationAccess]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):  # noqa: ANN201
        reading = self.request.method in permissions.SAFE_METHODS
        queryset = (users_visible_to if reading else users_administered_by)(self.request.user)
        return queryset.select_related("organization").prefetch_related("roles").order_by("username")

    def perform_destroy(self, instance) -> None:  # noqa: ANN001
        administration.delete_user(self.request.user, instance, self.request)


class RoleViewSet(viewsets.ModelViewSet):
    """Roles: view (always) and optionally manage rights over all of an organization's clouds, or
    chosen clouds and resource groups, for their member users."""

    serializer_class = s.RoleSerializer
    permission_classes = [AdministrationAccess]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):  # noqa: ANN201
        reading = self.request.method in permissions.SAFE_METHODS
        queryset = (roles_visible_to if reading else roles_administered_by)(self.request.user)
        queryset = queryset.select_related("organization").prefetch_related("clouds", "resource_groups", "users")
        return queryset.order_by("organization__name", "name")

    def perform_destroy(self, instance) -> None:  # noqa: ANN001
        administration.delete_role(self.request.user, instance, self.request)

from django.contrib.auth.views import LogoutView
from django.urls import include, path

from insightcloud.web import admin_views, cloud_views, compliance_views, group_views, insight_editor, views
from insightcloud.web.status import status

urlpatterns = [
    path("Status", status, name="status"),
    path("api/", include("insightcloud.api.urls")),
    path("login", views.InsightCloudLoginView.as_view(), name="login"),
    path("logout", LogoutView.as_view(), name="logout"),
    path("setup", views.setup, name="setup"),
    path("", views.dashboard, name="dashboard"),
    path("clouds/", cloud_views.cloud_list, name="clouds"),
    path("clouds/add/<str:provider>", cloud_views.cloud_add, name="cloud-add"),
    path("clouds/<int:pk>", cloud_views.cloud_detail, name="cloud-detail"),
    path("clouds/<int:pk>/harvest-strategy", cloud_views.cloud_harvest_strategy, name="cloud-harvest-strategy"),
    path("clouds/<int:pk>/delete", views.cloud_delete, name="cloud-delete"),
    path("clouds/<int:pk>/<str:operation>", views.cloud_action, name="cloud-action"),
    path("inventory/", views.inventory, name="inventory"),
    path("resources/<int:pk>", views.resource_detail, name="resource-detail"),
    path("resources/<int:pk>/action", views.resource_action, name="resource-action"),
    path("resources/<int:pk>/action/<int:job_id>", views.resource_action_status, name="resource-action-status"),
    path("resources/<int:pk>/exempt", compliance_views.exempt_finding, name="exempt-finding"),
    path("groups/", group_views.group_list, name="groups"),
    path("groups/add", group_views.group_add, name="group-add"),
    path("groups/<int:pk>/remove", group_views.group_remove, name="group-remove"),
    path("insights/", compliance_views.insight_list, name="insights"),
    path("insights/custom/new", insight_editor.insight_new, name="insight-new"),
    path("insights/custom/validate", insight_editor.insight_validate, name="insight-validate"),
    path("insights/custom/filter-row", insight_editor.insight_filter_row, name="insight-filter-row"),
    path("insights/<str:insight_id>", compliance_views.insight_detail, name="insight-detail"),
    path("insights/<str:insight_id>/edit", insight_editor.insight_edit, name="insight-edit"),
    path("insights/<str:insight_id>/delete", insight_editor.insight_delete, name="insight-delete"),
    path("compliance/", compliance_views.compliance_overview, name="compliance"),
    path("compliance/packs/new", insight_editor.pack_new, name="pack-new"),
    path("compliance/<str:pack_id>/edit", insight_editor.pack_edit, name="pack-edit"),
    path("compliance/<str:pack_id>/delete", insight_editor.pack_delete, name="pack-delete"),
    path("compliance/<str:pack_id>", compliance_views.pack_detail, name="pack-detail"),
    path("compliance/<str:pack_id>/controls/<str:control_id>", compliance_views.control_detail, name="control-detail"),
    path("exemptions/", compliance_views.exemption_list, name="exemptions"),
    path("exemptions/bulk/<str:insight_id>", compliance_views.bulk_exempt, name="bulk-exempt"),
    path("jobs/", views.jobs, name="jobs"),
    path("system/", views.system, name="system"),
    path("system/audit", views.audit_log, name="audit"),
    path("system/users/", admin_views.user_list, name="admin-users"),
    path("system/users/new", admin_views.user_create, name="admin-user-create"),
    path("system/users/<int:pk>", admin_views.user_detail, name="admin-user"),
    path("system/roles/", admin_views.role_list, name="admin-roles"),
    path("system/roles/new", admin_views.role_create, name="admin-role-create"),
    path("system/roles/<int:pk>", admin_views.role_detail, name="admin-role"),
    path("system/api-keys/", admin_views.api_key_list, name="admin-api-keys"),
    path("account/api-keys", views.api_keys, name="api-keys"),
]


def not_found(request, exception=None):  # noqa: ANN001, ANN201
    """API clients get JSON errors even for URLs that match no route."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"error": "Not found."}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


handler404 = not_found

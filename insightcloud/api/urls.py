from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from insightcloud.api import admin_views, compliance_views, findings_views, views

router = DefaultRouter()
router.register("clouds", views.CloudViewSet, basename="cloud")
router.register("resources", views.ResourceViewSet, basename="resource")
router.register("findings", findings_views.FindingViewSet, basename="finding")
router.register("exemptions", findings_views.ExemptionViewSet, basename="exemption")
router.register("resource-groups", views.ResourceGroupViewSet, basename="resource-group")
router.register("jobs", views.JobViewSet, basename="job")
router.register("audit", views.AuditEventViewSet, basename="audit")
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("users", admin_views.UserViewSet, basename="user")
router.register("roles", admin_views.RoleViewSet, basename="role")
router.register("insights", compliance_views.InsightViewSet, basename="insight")
router.register("packs", compliance_views.PackViewSet, basename="pack")
router.register("scorecards", compliance_views.ScorecardViewSet, basename="scorecard")

urlpatterns = [
    path("v1/queues/", views.QueueView.as_view(), name="queues"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

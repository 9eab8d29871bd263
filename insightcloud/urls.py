from django.urls import include, path

from insightcloud.web import views
from insightcloud.web.status import status

urlpatterns = [
    path("Status", status, name="status"),
    path("api/", include("insightcloud.api.urls")),
    path("", views.home, name="home"),
]

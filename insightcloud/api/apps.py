from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "insightcloud.api"
    label = "api"
    verbose_name = "REST API"

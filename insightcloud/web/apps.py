from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "insightcloud.web"
    label = "web"
    verbose_name = "Web interface"

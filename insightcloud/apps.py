from django.apps import AppConfig


class InsightCloudConfig(AppConfig):
    """Listed last in INSTALLED_APPS: once every app has registered its plug-ins, lock the registry."""

    name = "insightcloud"
    verbose_name = "InsightCloud"

    def ready(self) -> None:
        from insightcloud.registry import registry

        registry.lock()

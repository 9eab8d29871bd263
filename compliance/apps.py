from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from compliance import filters, jobs  # noqa: F401  (registers named filters and the "evaluate" job kind)

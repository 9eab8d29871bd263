from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from compliance import filters, jobs  # noqa: F401  (registers named filters and the "evaluate" job kind)
        from compliance.findings_flag import connect

        connect()  # a deleted exemption un-exempts its findings: keeps the inventory's has-findings flag right

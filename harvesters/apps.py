from __future__ import annotations

from importlib import import_module

from django.apps import AppConfig


class HarvestersConfig(AppConfig):
    name = "harvesters"
    verbose_name = "Cloud harvesters"

    def ready(self) -> None:
        # Registering resource types, cloud drivers and the "harvest" job kind only needs the
        # modules' metadata: the cloud SDKs (boto3 …) are imported lazily by the drivers and
        # sessions, so the interface server does not load them (tests/aws/test_boundaries.py).
        from harvesters import aws, harvest  # noqa: F401  (harvest registers the job kind)

        for module in aws.MODULES:
            import_module(f"harvesters.aws.{module}")

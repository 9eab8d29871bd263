from __future__ import annotations

from django.apps import AppConfig


class HarvestersConfig(AppConfig):
    name = "harvesters"
    verbose_name = "Cloud harvesters"

    def ready(self) -> None:
        # Registering resource types, cloud drivers and the "harvest" job kind only needs the
        # modules' metadata: the cloud SDKs (boto3, azure-*, googleapiclient, aliyun*) are imported
        # lazily by the drivers and sessions, so the interface server does not load them
        # (tests/aws/test_boundaries.py and each cloud's SDK-loading test).
        from harvesters import alibaba, aws, azure, gcp, harvest  # noqa: F401  (harvest: the job kind)

        for cloud in (aws, azure, gcp, alibaba):
            cloud.load()

"""The "aws" cloud driver: authenticate a CloudAccount and list its enabled regions.

boto3 is imported only when a driver method runs (through harvesters.aws.session), so that
registering the driver at start-up does not load the SDK in the interface server.
"""

from __future__ import annotations

from typing import Any

from harvesters.base import cloud_driver

AUTH_TYPES = ("keys", "assume_role", "instance_role")


@cloud_driver("aws")
class AwsDriver:
    """Connects with access keys, an assumed role (from keys or the instance role) or the instance role."""

    provider = "aws"

    def connect(self, cloud: Any) -> Any:
        from harvesters.aws import session

        if cloud.auth_type not in AUTH_TYPES:
            raise ValueError(f"unknown AWS auth type {cloud.auth_type!r}; expected one of {', '.join(AUTH_TYPES)}")
        return session.connect(cloud.auth_type, dict(cloud.auth_settings or {}), dict(cloud.credentials or {}))

    def regions(self, ctx: Any) -> list[str]:
        """The regions enabled for the account (describe_regions lists only enabled ones by default)."""
        response = ctx.client("ec2").describe_regions()
        return sorted(region["RegionName"] for region in response["Regions"])

    def is_transient(self, exc: BaseException) -> bool:
        from harvesters.aws import session

        return session.is_transient(exc)

    def classify(self, exc: BaseException) -> Exception:
        from harvesters.aws import session

        return session.classify(exc)

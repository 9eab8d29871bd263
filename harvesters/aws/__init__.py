"""AWS harvesters: one module per service, each registering its resource types with
``@resource_type("aws.<service>.<kind>", ...)``.

``MODULES`` lists the service modules that ``HarvestersConfig.ready()`` imports; add a new
service by adding its module name here. Keep these modules free of module-level boto3 /
botocore imports (use ``ctx.client(...)`` and ``harvesters.aws.errors``-style helpers inside
functions) so that importing them to register types does not load the SDK in the interface
server; ``harvesters.aws.session`` (which imports boto3) is imported lazily by the driver.
"""

from __future__ import annotations

import importlib

#: Modules of harvesters.aws imported at start-up besides harvesters.aws.services.MODULES.
MODULES: list[str] = [
    "driver",
    "ec2",
]


def load() -> None:
    """Import the driver and every service module so that their decorators register them."""
    from harvesters.aws import services

    for module in MODULES:
        importlib.import_module(f"harvesters.aws.{module}")
    services.load()

"""Google Cloud harvesting: the driver, onboarding and one module per service.

The collectors register themselves when imported; ``load()`` imports them all (called from
``HarvestersConfig.ready()``, before the registry locks).
"""

from __future__ import annotations

import importlib

MODULES = (
    "harvesters.gcp.driver",
    "harvesters.gcp.resourcemanager",
    "harvesters.gcp.compute",
    "harvesters.gcp.storage",
    "harvesters.gcp.iam",
    "harvesters.gcp.sql",
    "harvesters.gcp.kms",
    "harvesters.gcp.container",
    "harvesters.gcp.cloudlogging",
)


def load() -> None:
    """Import the driver and every collector module (each registers itself)."""
    for module in MODULES:
        importlib.import_module(module)

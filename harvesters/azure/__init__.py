"""Azure harvesting: a service principal's ARM clients (azure-identity + azure-mgmt-*) per subscription.

``load()`` imports the driver and every collector module so that their decorators register
them; the harvesters app calls it from ``ready()`` (the SDKs load only when a harvest runs).
"""

from __future__ import annotations

import importlib

MODULES = (
    "harvesters.azure.driver",
    "harvesters.azure.subscription",
    "harvesters.azure.compute",
    "harvesters.azure.network",
    "harvesters.azure.storage",
    "harvesters.azure.keyvault",
    "harvesters.azure.sql",
    "harvesters.azure.web",
    "harvesters.azure.containerservice",
    "harvesters.azure.authorization",
    "harvesters.azure.monitor",
)


def load() -> None:
    """Import the driver and the collectors (idempotent)."""
    for module in MODULES:
        importlib.import_module(module)

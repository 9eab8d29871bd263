"""Alibaba Cloud harvesting: driver (sessions, endpoints, proxy, errors) and one module per service."""

from __future__ import annotations

import importlib

MODULES = (
    "harvesters.alibaba.driver",
    "harvesters.alibaba.ecs",
    "harvesters.alibaba.vpc",
    "harvesters.alibaba.oss",
    "harvesters.alibaba.ram",
    "harvesters.alibaba.rds",
    "harvesters.alibaba.kms",
    "harvesters.alibaba.actiontrail",
    "harvesters.alibaba.slb",
)


def load() -> None:
    """Import the driver and every collector module so that their decorators register them."""
    for module in MODULES:
        importlib.import_module(module)

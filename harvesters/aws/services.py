"""Every AWS service module with collectors, imported from one place.

``HarvestersConfig.ready()`` calls :func:`load` so that each ``@resource_type`` registers before
the registry locks. EC2 lives in ``harvesters.aws.ec2`` (its own owner) and is not listed here.
"""

from __future__ import annotations

import importlib
from types import ModuleType

MODULES = (
    "s3",
    "iam",
    "kms",
    "rds",
    "lambda_",
    "sqs",
    "sns",
    "cloudtrail",
    "elb",
    "acm",
    "route53",
    "dynamodb",
    "eks",
    "secretsmanager",
    "logs",
    "ecr",
)


def load() -> list[ModuleType]:
    """Import every service module (idempotent: Python imports each once)."""
    return [importlib.import_module(f"harvesters.aws.{name}") for name in MODULES]

"""Google Cloud harvesting: the driver, onboarding and one module per service.

One CloudAccount is one project; its credentials are a service-account JSON key (encrypted at
rest), its ``account_id`` the project id. ``manage.py addcloud gcp`` (``onboard.py``) takes the
key from a file or standard input and onboards one project or every active project under an
organization or folder.

Access the service account needs, at the project (or the organization / folder, inherited):
``roles/viewer`` and ``roles/iam.securityReviewer`` (the getIamPolicy calls), plus
``roles/browser`` on the organization or folder to list its projects.

Regions: a record's region is the region the harvest asked for. Zonal and regional resources
(instances, disks, subnetworks, Cloud SQL, GKE) are regional types fed by one project-wide call
(``aggregatedList``, ``locations/-``) shared by the harvest's regions; project-wide resources
(firewall rules, networks, snapshots, images, buckets, service accounts, KMS keys in every
location, logging sinks and metrics, the project) are ``global`` types, their location kept in
the properties.

Native ids are resource paths (``projects/p/zones/z/instances/i``), the same form every
reference between resources is normalized to (``network_id``, ``attached_to`` …).

Normalization choices: firewall rules are ``security_group`` (one per rule; a disabled rule has
no effective ingress/egress), service accounts are ``service_role`` with their user-managed keys,
logging sinks are ``api_accounting_config`` and log-based metrics ``log_group`` (see
``cloudlogging.py``).

The collectors register themselves when imported; ``load()`` imports them all (called from
``HarvestersConfig.ready()``, before the registry locks). None of these modules imports the
Google SDK at import time: ``session.py`` does, and it is imported when a driver method runs.
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

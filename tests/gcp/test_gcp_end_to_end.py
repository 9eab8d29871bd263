"""From ``manage.py addcloud gcp`` to an inventory holding every GCP type (runs once both are merged)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command, get_commands, load_command_class

from harvesters.base import resource_types_for
from insightcloud.inventory.models import CloudAccount, Resource

harvest_cloud = pytest.importorskip("harvesters.harvest").harvest_cloud


def addcloud_supports_gcp() -> bool:
    app = get_commands().get("addcloud")
    if app is None:
        return False
    parser = load_command_class(app, "addcloud").create_parser("manage.py", "addcloud")
    try:
        parser.parse_args(["gcp", "--name", "x", "--project-id", "p", "--key-file", "k.json"])
    except (CommandError, SystemExit):
        return False
    return True


@pytest.mark.django_db
def test_addcloud_then_harvest_lists_every_gcp_type(organization, gcp_fake, gcp_key, tmp_path, no_proxy_env):
    if not addcloud_supports_gcp():
        pytest.skip("addcloud does not offer gcp yet")
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(gcp_key))
    call_command(
        "addcloud",
        "gcp",
        "--name",
        "acme",
        "--organization-id",
        "100",
        "--key-file",
        str(key_file),
        "--endpoint",
        gcp_fake.url,
        stdout=io.StringIO(),
    )
    prod = CloudAccount.objects.get(provider="gcp", account_id="acme-prod")
    assert CloudAccount.objects.filter(provider="gcp").count() == 2
    assert harvest_cloud(prod, max_workers=1).ok
    harvested = set(Resource.objects.filter(cloud=prod, deleted_at=None).values_list("native_type", flat=True))
    assert harvested == {spec.native_type for spec in resource_types_for("gcp")}

"""Every API endpoint answers each persona as tests/web/permission_matrix.py says.

The endpoints come from the URL conf (the same enumeration the OpenAPI schema uses), so an
endpoint added without a matrix row fails ``test_every_api_endpoint_has_a_matrix_row`` with the
row to add. Each persona's request runs in a savepoint rolled back afterwards, so one persona's
change (a deletion, a pause) never decides another's answer.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from django.db import transaction
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.test import APIClient

from compliance.models import CustomInsight, CustomPack, Exemption, Finding, Scorecard
from insightcloud.accounts import audit
from insightcloud.accounts.api_keys import create_api_key
from insightcloud.accounts.models import AccessLevel, AuditEvent, Role
from insightcloud.inventory.models import ResourceGroup
from scheduler.runner import enqueue
from tests.web.conftest import make_user
from tests.web.permission_matrix import CUSTOM_INSIGHT, CUSTOM_PACK, MATRIX, PERSONAS, suggested_row

MATRIX_FILE = "tests/web/permission_matrix.py"


def api_endpoints() -> set[tuple[str, str]]:
    return {
        (method, path) for path, _, method, _ in EndpointEnumerator(urlconf="insightcloud.urls").get_api_endpoints()
    }


def test_every_api_endpoint_has_a_matrix_row():
    missing = sorted(api_endpoints() - {row.key for row in MATRIX}, key=lambda key: (key[1], key[0]))
    assert not missing, (
        f"{len(missing)} API endpoint(s) have no row in the permission matrix. Add to MATRIX in {MATRIX_FILE} "
        "(statuses are the usual ones for the shape; fix any the endpoint's rules say otherwise, give a write "
        "the body the owner would send, and for a new pk name add an Acme object to the `objects` fixture "
        f"of {__name__.replace('.', '/')}.py):\n" + "\n".join(suggested_row(method, path) for method, path in missing)
    )


def test_every_matrix_row_is_a_real_endpoint_listed_once():
    keys = [row.key for row in MATRIX]
    assert len(keys) == len(set(keys)), "a (method, path) appears twice in MATRIX"
    stale = sorted(set(keys) - api_endpoints())
    assert not stale, f"remove from MATRIX in {MATRIX_FILE} (no such endpoint): {stale}"
    for row in MATRIX:
        assert set(row.expect) == set(PERSONAS), row.key


@pytest.fixture
def objects(users, estate, organization):
    """The Acme objects the ``{pk}`` of each row stands for."""
    member = users["member"]
    prod, dev_bucket = estate["prod"], estate["dev_bucket"]
    finding = Finding.objects.create(
        cloud=prod, resource=estate["prod_bucket"], insight_id="storage-container-public", severity="high"
    )
    exemption = Exemption.objects.create(
        organization=organization,
        insight_id="storage-container-public",
        cloud=dev_bucket.cloud,
        resource=dev_bucket,
        reason="scratch bucket",
        approved_by="acme-admin",
    )
    job, _ = enqueue("noop", priority="p2", cloud_id=estate["prod"].pk, organization_id=organization.pk)
    return {
        "cloud": estate["prod"],
        "resource_group": ResourceGroup.objects.create(organization=organization, name="matrix members"),
        "resource": estate["prod_bucket"],
        "finding": finding,
        "exemption": exemption,
        "job": job,
        "user": member,
        "role": Role.objects.get(name="prod readers"),
        "api_key": create_api_key(member, "member-ci")[0],
        "audit_event": audit.record("cloud.pause", actor=users["org_admin"], target=estate["prod"]),
        # Insights and packs are addressed by their id, not a number.
        "custom_insight": SimpleNamespace(
            pk=CustomInsight.objects.create(organization=organization, definition=CUSTOM_INSIGHT).insight_id
        ),
        "custom_pack": SimpleNamespace(
            pk=CustomPack.objects.create(organization=organization, definition=CUSTOM_PACK).pack_id
        ),
        "scorecard": Scorecard.objects.create(cloud=estate["prod"], pack_id="cis-aws-3.0", score=100.0),
    }


@pytest.fixture
def personas(users, other_organization, harvest_kind):
    return {
        "domain_admin": users["admin"],
        "owner": users["org_admin"],
        "outsider": make_user("globex-admin", other_organization, AccessLevel.ORGANIZATION_ADMIN),
        "viewer": users["viewer"],
        "anonymous": None,
    }


@pytest.fixture
def harvest_kind():
    """The real harvest job kind, registered by the harvesters app (rows enqueue harvests)."""
    from insightcloud.registry import registry

    assert "harvest" in registry.names("jobs")


def call(user, method: str, path: str, body):  # noqa: ANN001, ANN201
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    data = "" if body is None else json.dumps(body)
    return client.generic(method, path, data=data, content_type="application/json")


@pytest.mark.django_db
@pytest.mark.parametrize("row", MATRIX, ids=[f"{row.method} {row.path}" for row in MATRIX])
def test_each_persona_gets_the_status_the_matrix_says(row, objects, personas):
    assert not row.pk or row.pk in objects, f"add an Acme object named {row.pk!r} to the objects fixture"
    path = row.path.replace("{pk}", str(objects[row.pk].pk)) if row.pk else row.path
    body = row.body(objects) if callable(row.body) else row.body
    answers = {}
    for persona in PERSONAS:
        with transaction.atomic():
            events_before = AuditEvent.objects.count()
            response = call(personas[persona], row.method, path, body)
            answers[persona] = response.status_code
            content = b"".join(response.streaming_content) if response.streaming else response.content
            assert b"md5$" not in content and b"s3cr3t-value" not in content, f"{persona}: a secret in the answer"
            if response.status_code >= 400:
                if path.startswith("/api/v1/"):
                    assert response.json()["error"], f"{persona}: errors are JSON with a message"
                assert AuditEvent.objects.count() == events_before, f"{persona}: a refused request changed something"
            transaction.set_rollback(True)
    assert answers == row.expect

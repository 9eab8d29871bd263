"""schemathesis walks every operation of /api/schema/ with generated requests: no 5xx, and every
response matches the schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from insightcloud.accounts.api_keys import create_api_key
from insightcloud.accounts.models import AccessLevel, User
from insightcloud.wsgi import application
from tests.web.conftest import make_cloud, make_resource

# Onboarding calls the cloud providers (and, for an AWS instance role, the metadata service): its
# validation is tested in tests/web/test_cloud_onboarding.py against moto and the fakes instead.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application).exclude(method="POST", path="/api/v1/clouds/")


@pytest.fixture
def api_key(db, organization):
    # Like Django's test client: keep the test's connection (and its transaction) open across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    admin = User.objects.create_user("schema-admin", organization=organization, access_level=AccessLevel.DOMAIN_ADMIN)
    cloud = make_cloud(organization, "schema-cloud")
    make_resource(cloud, "arn:aws:s3:::schema-bucket", tags={"env": "prod"})
    yield create_api_key(admin, "schemathesis")[1]
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_api_operation_answers_within_its_schema(case, api_key):
    case.call_and_validate(headers={"Authorization": f"Api-Key {api_key}"}, checks=CHECKS)

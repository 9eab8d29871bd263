"""The inventory's has-findings filter, in the GUI and the API, on a real evaluation of the estate:
open findings that no active exemption covers, only among the resources the user may see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from compliance.evaluate import evaluate_cloud, exempt
from compliance.models import Exemption

pytestmark = pytest.mark.django_db

PUBLIC = {"public": True, "public_reasons": ["ACL grants AllUsers READ"]}


@pytest.fixture
def evaluated(estate):
    """The prod and the Globex buckets are public (a finding each); the dev bucket is not. Only the
    public-bucket insight runs, so that the buckets' other settings give no findings."""
    from compliance.library import builtin_insights

    only_public = {key: builtin_insights()[key] for key in ["storage-container-public"]}
    for key in ("prod_bucket", "globex_bucket"):
        estate[key].properties = PUBLIC
        estate[key].save()
    for cloud in ("prod", "dev", "globex"):
        evaluate_cloud(estate[cloud], full=True, insights=only_public)
    return estate


def gui_names(user, query: str) -> set[str]:
    client = Client()
    client.force_login(user)
    page = client.get(f"/inventory/?{query}").content.decode()
    return {name for name in ("acme-prod-logs", "acme-dev-scratch", "globex-secrets") if name in page}


def api_names(user, query: str) -> set[str]:
    client = APIClient()
    client.force_authenticate(user)
    return {row["name"].rsplit(":", 1)[-1] for row in client.get(f"/api/v1/resources/?{query}").json()["results"]}


def test_has_findings_lists_the_resources_with_open_findings_in_gui_and_api(users, evaluated):
    admin = users["admin"]
    for names in (gui_names, api_names):
        assert names(admin, "has_findings=true") == {"acme-prod-logs", "globex-secrets"}, names
        assert names(admin, "has_findings=false") == {"acme-dev-scratch"}, names
        assert names(admin, "has_findings=true&q=arn:aws:s3:::acme") == {"acme-prod-logs"}, names


def test_has_findings_respects_tenancy(users, evaluated):
    for names in (gui_names, api_names):
        assert names(users["member"], "has_findings=true") == {"acme-prod-logs"}, names  # its role: prod only
        assert names(users["org_admin"], "has_findings=true") == {"acme-prod-logs"}, names
        assert names(users["org_admin"], "has_findings=false") == {"acme-dev-scratch"}, names
        assert names(users["outsider"], "has_findings=true") == {"globex-secrets"}, names


def test_an_exempted_finding_takes_the_resource_out_until_the_exemption_expires(users, evaluated):
    bucket = evaluated["prod_bucket"]
    exempt(
        Exemption(
            organization=bucket.cloud.organization, insight_id="storage-container-public", resource=bucket,
            reason="public website", approved_by="ciso", expires_at=timezone.now() + timedelta(hours=1),
        )
    )  # fmt: skip
    for names in (gui_names, api_names):
        assert names(users["org_admin"], "has_findings=true") == set(), names
        assert names(users["org_admin"], "has_findings=false") == {"acme-prod-logs", "acme-dev-scratch"}, names

    # It expires by the clock, before any evaluation: the finding counts again at once, as on the resource page.
    Exemption.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    for names in (gui_names, api_names):
        assert names(users["org_admin"], "has_findings=true") == {"acme-prod-logs"}, names
        assert names(users["org_admin"], "has_findings=false") == {"acme-dev-scratch"}, names
    client = Client()
    client.force_login(users["org_admin"])
    detail = client.get(f"/resources/{bucket.pk}").content.decode()
    assert 'class="tag exempted"' not in detail

"""Onboarding clouds from the GUI and the API: the credentials are validated with the provider (moto
behind the fault proxy, the Alibaba fake) before anything is saved, secrets are never shown back,
and only users who may add clouds can."""

# ruff: noqa: F811  (the moto and Alibaba fixtures are imported from their folders' conftest)

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from insightcloud.accounts.models import AuditEvent, Role
from insightcloud.inventory.models import CloudAccount
from tests.alibaba.conftest import alibaba_fake, no_proxy_env  # noqa: F401  (fixtures)
from tests.aws.conftest import ACCOUNT_ID, fault_proxy, fault_proxy_server, moto, moto_server  # noqa: F401
from tests.azure.conftest import azure_fake  # noqa: F401
from tests.fakes.alibaba_fake import ACCOUNT_ID as ALIBABA_ACCOUNT
from tests.fakes.alibaba_fake import GOOD_KEY_ID, GOOD_KEY_SECRET
from tests.fakes.azure_fake import CLIENT_ID, CLIENT_SECRET, SUB_PROD, TENANT_ID
from tests.gcp.conftest import gcp_fake, gcp_key  # noqa: F401
from tests.web.conftest import api, gui

pytestmark = pytest.mark.django_db

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture(autouse=True)
def cloud_managers_may_set_endpoints(settings):
    """The fakes and moto are reached through custom endpoints, which by default only domain
    admins may set (see test_by_default_only_domain_admins_may_point_a_cloud_at_an_endpoint)."""
    settings.CLOUD_ENDPOINTS = "cloud-managers"


def aws_form(proxy, **overrides) -> dict:
    return {
        "name": "acme-audit",
        "auth_type": "keys",
        "access_key_id": "AKIAACME",
        "secret_access_key": SECRET,
        "role_arn": "",
        "external_id": "",
        "regions": "us-east-1",
        "endpoint_url": proxy.url,
        **overrides,
    }


def client_as(client, user):
    client.force_login(user)
    return client


# --- GUI --------------------------------------------------------------------------------------


def test_an_organization_admin_adds_an_aws_cloud_checked_against_moto(client, users, fault_proxy):
    client = client_as(client, users["org_admin"])
    listing = client.get("/clouds/").content.decode()
    assert 'id="add-cloud"' in listing and "/clouds/add/aws" in listing
    form = client.get("/clouds/add/aws").content.decode()
    for name in ("name", "auth_type", "access_key_id", "secret_access_key", "role_arn", "external_id", "regions"):
        assert f'name="{name}"' in form
    assert 'type="password" name="secret_access_key"' in form

    response = client.post("/clouds/add/aws", aws_form(fault_proxy))

    cloud = CloudAccount.objects.get(name="acme-audit")
    assert response.status_code == 302 and response["Location"] == f"/clouds/{cloud.pk}"
    assert (cloud.organization.slug, cloud.account_id, cloud.auth_type) == ("acme", ACCOUNT_ID, "keys")
    assert cloud.regions == ["us-east-1"] and cloud.credentials["secret_access_key"] == SECRET
    assert fault_proxy.hits["GetCallerIdentity"] == 1
    page = client.get(response["Location"]).content.decode()
    assert "acme-audit" in page and SECRET not in page
    event = AuditEvent.objects.get(action="cloud.create")
    assert event.actor == users["org_admin"] and event.details["account_id"] == ACCOUNT_ID
    assert SECRET not in str(event.details)


def test_refused_credentials_show_the_reason_and_save_nothing(client, users, fault_proxy):
    fault_proxy.add(None, 403, "InvalidClientTokenId", message="The security token included in the request is invalid.")
    before = CloudAccount.objects.count()

    response = client_as(client, users["org_admin"]).post("/clouds/add/aws", aws_form(fault_proxy))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="alert-error"' in page and "AWS refused the credentials: InvalidClientTokenId" in page
    assert SECRET not in page  # the password input is not filled back in
    assert 'value="acme-audit"' in page  # what is not secret is kept for the next try
    assert CloudAccount.objects.count() == before
    assert not AuditEvent.objects.filter(action="cloud.create").exists()


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"secret_access_key": ""}, "secret_access_key", "the secret access key is required"),
        ({"auth_type": "role", "role_arn": "not-an-arn"}, "role_arn", "a role ARN looks like"),
        ({"auth_type": "instance"}, "auth_type", "only domain administrators"),
        ({"regions": "us-east-1,mars-north-1"}, None, "not enabled for the account: mars-north-1"),
        ({"name": "acme-prod"}, None, "a cloud named &#x27;acme-prod&#x27; already exists"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(client, users, fault_proxy, overrides, field, message):
    before = CloudAccount.objects.count()
    response = client_as(client, users["org_admin"]).post("/clouds/add/aws", aws_form(fault_proxy, **overrides))
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page and "errorlist" in page and SECRET not in page
    if field:
        assert field in response.context["form"].errors
        assert fault_proxy.hits.get("GetCallerIdentity", 0) == 0  # refused before asking AWS
    assert CloudAccount.objects.count() == before


@pytest.mark.parametrize("persona", ["member", "viewer", "outsider"])
def test_users_who_may_not_add_clouds_get_no_form(client, users, fault_proxy, persona):
    client = client_as(client, users[persona])
    assert 'id="add-cloud"' not in client.get("/clouds/").content.decode()
    assert client.get("/clouds/add/aws").status_code == 403
    assert client.post("/clouds/add/aws", aws_form(fault_proxy)).status_code == 403
    assert not CloudAccount.objects.filter(name="acme-audit").exists()
    assert fault_proxy.hits.get("GetCallerIdentity", 0) == 0


def test_a_basic_user_whose_role_manages_all_clouds_may_add_one(client, users, organization, fault_proxy):
    role = Role.objects.create(organization=organization, name="cloud team", can_manage=True, all_clouds=True)
    role.users.add(users["member"])
    response = client_as(client, users["member"]).post("/clouds/add/aws", aws_form(fault_proxy))
    assert response.status_code == 302
    assert CloudAccount.objects.get(name="acme-audit").organization == organization


def test_every_provider_has_a_form_and_unknown_ones_are_not_found(client, users):
    client = client_as(client, users["admin"])
    for provider, secret_field in (("azure", "client_secret"), ("gcp", "key_json"), ("alibaba", "access_key_secret")):
        page = client.get(f"/clouds/add/{provider}").content.decode()
        assert f'name="{secret_field}"' in page, provider
    assert 'type="file" name="key_file"' in client.get("/clouds/add/gcp").content.decode()
    assert client.get("/clouds/add/openstack").status_code == 404


def test_a_gcp_key_is_uploaded_checked_with_google_and_never_shown_back(client, users, gcp_fake, gcp_key, no_proxy_env):
    client = client_as(client, users["org_admin"])
    form = {"name": "acme-gcp", "project_id": "acme-prod", "endpoint": gcp_fake.url}

    missing = client.post("/clouds/add/gcp", {**form, "key_json": json.dumps(gcp_key), "project_id": "no-such-project"})
    page = missing.content.decode()
    assert missing.status_code == 200 and "no-such-project" in page and 'class="alert-error"' in page
    assert gcp_key["private_key_id"] not in page and not CloudAccount.objects.filter(provider="gcp").exists()

    key_file = SimpleUploadedFile("key.json", json.dumps(gcp_key).encode(), content_type="application/json")
    response = client.post("/clouds/add/gcp", {**form, "key_file": key_file})

    cloud = CloudAccount.objects.get(name="acme-gcp")
    assert response.status_code == 302 and response["Location"] == f"/clouds/{cloud.pk}"
    assert (cloud.provider, cloud.account_id) == ("gcp", "acme-prod")
    assert cloud.credentials["service_account_key"]["private_key"] == gcp_key["private_key"]


# --- API --------------------------------------------------------------------------------------


def test_the_api_creates_an_aws_cloud_and_never_returns_its_secret(users, fault_proxy):
    payload = {**aws_form(fault_proxy), "provider": "aws", "regions": ["us-east-1", "eu-west-1"]}

    response = api(users["org_admin"]).post("/api/v1/clouds/", payload, format="json")

    assert response.status_code == 201, response.content
    (created,) = response.json()["clouds"]
    assert created["account_id"] == ACCOUNT_ID and created["regions"] == ["us-east-1", "eu-west-1"]
    assert SECRET not in response.content.decode() and "credentials" not in created
    assert AuditEvent.objects.filter(action="cloud.create", target__contains="acme-audit").exists()


def test_the_api_answers_structured_validation_errors_and_saves_nothing(users, fault_proxy):
    client, before = api(users["org_admin"]), CloudAccount.objects.count()

    missing = client.post("/api/v1/clouds/", {"provider": "aws", "auth_type": "keys"}, format="json")
    assert missing.status_code == 400
    assert {"name", "access_key_id", "secret_access_key"} <= set(missing.json()["fields"])

    unknown = client.post("/api/v1/clouds/", {"provider": "vmware"}, format="json")
    assert unknown.status_code == 400 and "provider" in unknown.json()["fields"]

    fault_proxy.add(None, 403, "InvalidClientTokenId", message="The security token included in the request is invalid.")
    refused = client.post("/api/v1/clouds/", {**aws_form(fault_proxy), "provider": "aws"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["fields"]["non_field_errors"][0].startswith("AWS refused the credentials")
    assert SECRET not in refused.content.decode()
    assert CloudAccount.objects.count() == before


def test_the_api_refuses_users_who_may_not_add_clouds(users, fault_proxy):
    for persona in ("member", "viewer", "outsider"):
        response = api(users[persona]).post("/api/v1/clouds/", {**aws_form(fault_proxy), "provider": "aws"})
        assert response.status_code == 403, persona
    assert APIClient().post("/api/v1/clouds/", {"provider": "aws"}).status_code in (401, 403)
    assert not CloudAccount.objects.filter(name="acme-audit").exists()


def test_the_api_onboards_alibaba_through_its_own_validation(users, alibaba_fake):
    payload = {
        "provider": "alibaba",
        "name": "acme-ali",
        "access_key_id": GOOD_KEY_ID,
        "access_key_secret": GOOD_KEY_SECRET,
        "endpoint_url": alibaba_fake.url,
    }
    client = api(users["org_admin"])

    bad = client.post("/api/v1/clouds/", {**payload, "access_key_secret": "wrong"}, format="json")
    assert bad.status_code == 400 and not CloudAccount.objects.filter(name="acme-ali").exists()

    created = client.post("/api/v1/clouds/", payload, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["clouds"][0]["account_id"] == ALIBABA_ACCOUNT
    assert GOOD_KEY_SECRET not in created.content.decode()


def test_the_api_onboards_an_azure_subscription_through_a_service_principal(users, azure_fake, monkeypatch):
    # The form takes no server file path: the fake's private CA is trusted the way an operator would.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", azure_fake.ca_file)
    payload = {
        "provider": "azure",
        "name": "contoso",
        "tenant_id": TENANT_ID,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "subscription_id": SUB_PROD,
        "authority_host": azure_fake.authority,
        "arm_endpoint": azure_fake.arm_endpoint,
    }
    client = api(users["org_admin"])

    refused = client.post("/api/v1/clouds/", {**payload, "client_secret": "not-the-secret-5150"}, format="json")
    assert refused.status_code == 400 and not CloudAccount.objects.filter(provider="azure").exists()
    assert "not-the-secret-5150" not in refused.content.decode()

    created = client.post("/api/v1/clouds/", payload, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["clouds"][0]["account_id"] == SUB_PROD
    assert CLIENT_SECRET not in created.content.decode()


def test_by_default_only_domain_admins_may_point_a_cloud_at_an_endpoint(settings, users, fault_proxy):
    settings.CLOUD_ENDPOINTS = "domain-admins"
    refused = gui(users["org_admin"]).post("/clouds/add/aws", aws_form(fault_proxy))
    assert refused.status_code == 200 and b"only domain administrators may point a cloud" in refused.content
    assert not CloudAccount.objects.filter(name="acme-audit").exists()
    refused = api(users["org_admin"]).post(
        "/api/v1/clouds/", {"provider": "aws", **aws_form(fault_proxy)}, format="json"
    )
    assert refused.status_code == 400 and "endpoint_url" in refused.json()["fields"]
    added = gui(users["admin"]).post("/clouds/add/aws", aws_form(fault_proxy, organization="acme"))
    assert added.status_code == 302 and CloudAccount.objects.filter(name="acme-audit").exists()

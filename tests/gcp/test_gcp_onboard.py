"""Onboarding GCP: the key from a file or standard input, one project or every project under a node."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from harvesters.base import InvalidCredentials, get_driver
from harvesters.gcp import onboard
from insightcloud.inventory.models import CloudAccount


def parse(*args: str) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name")
    onboard.add_arguments(parser)
    return vars(parser.parse_args(list(args)))


@pytest.fixture
def key_file(tmp_path, gcp_key):
    path = tmp_path / "key.json"
    path.write_text(json.dumps(gcp_key))
    return path


@pytest.fixture
def source(gcp_fake, key_file):
    """The key file and the fake's endpoint, as command-line options."""
    return ("--key-file", str(key_file), "--endpoint", gcp_fake.url)


def test_one_project_from_standard_input_becomes_one_cloud(organization, gcp_fake, gcp_key, no_proxy_env):
    options = parse("--name", "prod", "--project-id", "acme-prod", "--endpoint", gcp_fake.url)
    (cloud,) = onboard.onboard(options, io.StringIO(json.dumps(gcp_key)), organization)
    cloud.refresh_from_db()
    assert (cloud.provider, cloud.name, cloud.account_id) == ("gcp", "prod", "acme-prod")
    assert cloud.auth_type == "service_account_key"
    assert cloud.regions == ["asia-east1", "europe-west1", "us-central1"]
    assert cloud.auth_settings["endpoint"] == gcp_fake.url
    assert cloud.auth_settings["client_email"] == gcp_key["client_email"]
    assert "private_key" not in json.dumps(cloud.auth_settings)
    assert cloud.credentials["service_account_key"]["private_key"] == gcp_key["private_key"]
    # what was saved is enough for the driver to connect
    assert get_driver("gcp").connect(cloud).account_id == "acme-prod"


def test_the_key_is_encrypted_at_rest(organization, gcp_fake, gcp_key, source, no_proxy_env):
    from django.db import connection

    options = parse("--name", "prod", "--project-id", "acme-prod", *source)
    (cloud,) = onboard.onboard(options, None, organization)
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM inventory_cloudaccount WHERE id = %s", [cloud.pk])
        stored = cursor.fetchone()[0]
    assert "PRIVATE KEY" not in str(stored) and gcp_key["client_email"] not in str(stored)


def test_every_active_project_under_an_organization_becomes_a_cloud(organization, gcp_fake, source, no_proxy_env):
    options = parse("--name", "acme", "--organization-id", "100", *source)
    clouds = onboard.onboard(options, None, organization)
    # acme-prod is in folders/200, acme-dev directly under the org; acme-old is being deleted;
    # lonely-project belongs to another organization.
    assert [(c.name, c.account_id) for c in clouds] == [
        ("acme (acme-dev)", "acme-dev"),
        ("acme (acme-prod)", "acme-prod"),
    ]
    assert {c.auth_settings["parent"] for c in clouds} == {"organizations/100", "folders/200"}
    assert CloudAccount.objects.filter(organization=organization, provider="gcp").count() == 2


def test_a_folder_onboards_the_projects_beneath_it(organization, gcp_fake, source, no_proxy_env):
    options = parse("--name", "f", "--folder-id", "folders/200", *source)
    assert [c.account_id for c in onboard.onboard(options, None, organization)] == ["acme-prod"]


def test_regions_can_be_chosen(organization, gcp_fake, source, no_proxy_env):
    options = parse("--name", "p", "--project-id", "acme-prod", "--regions", "us-central1", *source)
    (cloud,) = onboard.onboard(options, None, organization)
    assert cloud.regions == ["us-central1"]


def test_a_refused_key_saves_nothing(organization, gcp_fake, gcp_key, no_proxy_env):
    gcp_fake.revoke(gcp_key)
    options = parse("--name", "prod", "--project-id", "acme-prod", "--endpoint", gcp_fake.url)
    with pytest.raises(InvalidCredentials, match="GCP refused the service-account key"):
        onboard.onboard(options, io.StringIO(json.dumps(gcp_key)), organization)
    assert not CloudAccount.objects.exists()


def test_a_project_the_key_cannot_read_saves_nothing(organization, gcp_fake, source, no_proxy_env):
    options = parse("--name", "x", "--project-id", "someone-else", *source)
    with pytest.raises(InvalidCredentials, match="cannot read projects/someone-else"):
        onboard.onboard(options, None, organization)
    assert not CloudAccount.objects.exists()


def test_an_organization_without_visible_projects_saves_nothing(organization, gcp_fake, source, no_proxy_env):
    options = parse("--name", "x", "--organization-id", "555", *source)
    with pytest.raises(InvalidCredentials, match="no active project"):
        onboard.onboard(options, None, organization)
    assert not CloudAccount.objects.exists()


def test_a_failure_part_way_through_an_organization_saves_nothing(organization, gcp_fake, source, no_proxy_env):
    gcp_fake.fail("parent=folders", 403, times=1)
    options = parse("--name", "acme", "--organization-id", "100", *source)
    with pytest.raises(InvalidCredentials, match="cannot read organizations/100"):
        onboard.onboard(options, None, organization)
    assert not CloudAccount.objects.exists()


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("", "no service-account key given"),
        ("{not json", "not valid JSON"),
        ('{"type": "authorized_user"}', "expected a service-account key"),
    ],
)
def test_bad_key_input_is_a_one_line_error(organization, stdin, message):
    options = parse("--name", "prod", "--project-id", "acme-prod")
    with pytest.raises(InvalidCredentials, match=message):
        onboard.onboard(options, io.StringIO(stdin), organization)
    assert not CloudAccount.objects.exists()


def test_a_missing_key_file_is_a_one_line_error(organization, tmp_path):
    options = parse("--name", "prod", "--project-id", "p", "--key-file", str(tmp_path / "absent.json"))
    with pytest.raises(InvalidCredentials, match="cannot read the key file"):
        onboard.onboard(options, None, organization)


def test_bad_endpoints_are_refused_before_any_call(organization, gcp_key):
    options = parse("--name", "prod", "--project-id", "p", "--api-endpoint", "compute")
    with pytest.raises(ValueError, match="--api-endpoint expects API=URL"):
        onboard.onboard(options, io.StringIO(json.dumps(gcp_key)), organization)
    options = parse("--name", "prod", "--project-id", "p", "--endpoint", "ftp://example")
    with pytest.raises(ValueError, match="--endpoint must be an http"):
        onboard.onboard(options, io.StringIO(json.dumps(gcp_key)), organization)


def test_a_name_already_taken_saves_nothing(organization, gcp_fake, gcp_key, source, no_proxy_env):
    options = parse("--name", "acme", "--organization-id", "100", *source)
    CloudAccount.objects.create(
        organization=organization, provider="gcp", name="acme (acme-prod)", account_id="x", auth_type="t"
    )
    with pytest.raises(ValueError, match="already exists"):
        onboard.onboard(options, None, organization)
    assert CloudAccount.objects.count() == 1


def test_the_scope_is_required_and_exclusive():
    with pytest.raises(SystemExit):
        parse("--name", "x")
    with pytest.raises(SystemExit):
        parse("--name", "x", "--project-id", "a", "--organization-id", "1")


def test_regions_not_available_to_the_project_are_refused(organization, gcp_fake, source, no_proxy_env):
    options = parse("--name", "p", "--project-id", "acme-prod", "--regions", "us-central1,mars-north1", *source)
    with pytest.raises(onboard.OnboardingInputError, match="mars-north1"):
        onboard.onboard(options, None, organization)
    assert not CloudAccount.objects.exists()


def test_option_errors_are_harvest_errors_for_addcloud(organization, gcp_key):
    from harvesters.base import HarvestError

    options = parse("--name", "prod", "--project-id", "p", "--token-uri", "not-a-url")
    with pytest.raises(HarvestError, match="--token-uri must be an http"):
        onboard.onboard(options, io.StringIO(json.dumps(gcp_key)), organization)


def test_a_ca_bundle_is_stored_as_an_absolute_path_and_must_exist(organization, source, tmp_path, no_proxy_env):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")  # only its path is stored; the fake is plain HTTP
    options = parse("--name", "p", "--project-id", "acme-prod", "--ca-bundle", str(bundle), *source)
    (cloud,) = onboard.onboard(options, None, organization)
    assert cloud.auth_settings["ca_bundle"] == str(bundle.resolve())
    options = parse("--name", "q", "--project-id", "acme-prod", "--ca-bundle", str(tmp_path / "absent.pem"), *source)
    with pytest.raises(onboard.OnboardingInputError, match="is not a file"):
        onboard.onboard(options, None, organization)

"""``addcloud azure``: the service principal is checked against Azure before anything is saved."""

from __future__ import annotations

import io

import pytest

from harvesters.azure.onboard import OnboardingError, add_arguments, onboard
from harvesters.base import InvalidCredentials, get_driver
from tests.fakes.azure_fake import CLIENT_ID, CLIENT_SECRET, SUB_DEV, SUB_PROD, TENANT_ID


@pytest.fixture
def options(azure_fake) -> dict:
    return {
        "name": "Contoso",
        "tenant_id": TENANT_ID,
        "client_id": CLIENT_ID,
        "subscription_id": SUB_PROD,
        "all_subscriptions": False,
        "authority_host": azure_fake.authority,
        "arm_endpoint": azure_fake.arm_endpoint,
        "ca_bundle": azure_fake.ca_file,
    }


def clouds():
    from insightcloud.inventory.models import CloudAccount

    return CloudAccount.objects.filter(provider="azure")


def test_arguments_parse_into_the_options_onboard_reads():
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    parsed = vars(
        parser.parse_args(["--tenant-id", "t", "--client-id", "c", "--all-subscriptions", "--regions", "eastus"])
    )
    assert parsed["all_subscriptions"] is True and parsed["subscription_id"] is None and parsed["regions"] == "eastus"
    with pytest.raises(SystemExit):
        parser.parse_args(["--subscription-id", "s", "--all-subscriptions"])


def test_arguments_shared_with_another_cloud_are_not_added_twice():
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--regions", help="the AWS command's own")
    parser.add_argument("--secret-stdin", action="store_true")
    add_arguments(parser)
    parsed = vars(parser.parse_args(["--regions", "eastus", "--secret-stdin", "--tenant-id", "t"]))
    assert (parsed["regions"], parsed["secret_stdin"], parsed["tenant_id"]) == ("eastus", True, "t")


def test_valid_secret_onboards_one_subscription(organization, options):
    [cloud] = onboard(options, io.StringIO(CLIENT_SECRET + "\n"), organization)
    cloud.refresh_from_db()
    assert (cloud.provider, cloud.name, cloud.account_id, cloud.auth_type) == (
        "azure",
        "Contoso",
        SUB_PROD,
        "client_secret",
    )
    assert cloud.credentials == {"client_secret": CLIENT_SECRET}
    assert CLIENT_SECRET not in repr(cloud.auth_settings) and CLIENT_SECRET not in repr(cloud)
    assert cloud.auth_settings["tenant_id"] == TENANT_ID
    assert cloud.auth_settings["arm_endpoint"] == options["arm_endpoint"]
    assert cloud.auth_settings["subscription_name"] == "Production"
    # the saved cloud connects through the registered driver
    ctx = get_driver("azure").connect(cloud)
    assert ctx.account_id == SUB_PROD
    assert get_driver("azure").regions(ctx) == ["eastus", "westeurope"]


def test_all_subscriptions_become_one_cloud_each(organization, options):
    options.update(subscription_id=None, all_subscriptions=True, regions="East US, westeurope")
    created = onboard(options, io.StringIO(CLIENT_SECRET), organization)
    assert sorted((c.name, c.account_id) for c in created) == [
        ("Contoso - Development", SUB_DEV),
        ("Contoso - Production", SUB_PROD),
    ]
    assert all(c.regions == ["eastus", "westeurope"] for c in created)
    # a second run adds only what is new
    assert onboard(options, io.StringIO(CLIENT_SECRET), organization) == []
    assert clouds().count() == 2


def test_disabled_subscriptions_are_skipped_with_all_subscriptions(organization, options, azure_fake):
    azure_fake.state["subscriptions"][SUB_DEV]["state"] = "Disabled"
    options.update(subscription_id=None, all_subscriptions=True)
    assert [c.account_id for c in onboard(options, io.StringIO(CLIENT_SECRET), organization)] == [SUB_PROD]


def test_wrong_secret_is_refused_and_nothing_saved(organization, options):
    with pytest.raises(InvalidCredentials, match="AADSTS7000215"):
        onboard(options, io.StringIO("not-the-secret\n"), organization)
    assert clouds().count() == 0


def test_unknown_tenant_is_refused(organization, options):
    options["tenant_id"] = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(InvalidCredentials):
        onboard(options, io.StringIO(CLIENT_SECRET), organization)
    assert clouds().count() == 0


def test_subscription_the_principal_cannot_see_is_refused(organization, options):
    options["subscription_id"] = "99999999-9999-4999-8999-999999999999"
    with pytest.raises(InvalidCredentials, match="not visible"):
        onboard(options, io.StringIO(CLIENT_SECRET), organization)
    assert clouds().count() == 0


def test_certificate_credential_onboards(organization, options, azure_fake, tmp_path):
    pem_file = tmp_path / "sp.pem"
    pem_file.write_bytes(azure_fake.add_certificate())
    options["certificate_file"] = str(pem_file)
    [cloud] = onboard(options, None, organization)
    assert cloud.auth_type == "certificate" and "PRIVATE KEY" in cloud.credentials["certificate_pem"]
    assert get_driver("azure").connect(cloud).account_id == SUB_PROD


def test_certificate_unknown_to_the_tenant_is_refused(organization, options, tmp_path):
    from tests.fakes.azure_fake import make_certificate, pem

    pem_file = tmp_path / "stranger.pem"
    pem_file.write_bytes(pem(*make_certificate("stranger")))
    options["certificate_file"] = str(pem_file)
    with pytest.raises(InvalidCredentials):
        onboard(options, None, organization)
    assert clouds().count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tenant_id": None}, "--tenant-id"),
        ({"subscription_id": None}, "--subscription-id or --all-subscriptions"),
        ({"arm_endpoint": "http://plain.example"}, "https://"),
        ({"certificate_file": "/nonexistent/sp.pem"}, "cannot read certificate file"),
        ({"name": ""}, "--name"),
        ({"regions": "eastus,mars-north"}, "unknown Azure location.*mars-north"),
    ],
)
def test_bad_options_get_one_line_and_save_nothing(organization, options, change, message):
    options.update(change)
    with pytest.raises(OnboardingError, match=message):
        onboard(options, io.StringIO(CLIENT_SECRET), organization)
    assert clouds().count() == 0


def test_empty_standard_input_is_refused(organization, options):
    with pytest.raises(OnboardingError, match="no client secret"):
        onboard(options, io.StringIO(""), organization)


def test_name_already_taken_saves_nothing(organization, options):
    from insightcloud.inventory.models import CloudAccount

    CloudAccount.objects.create(
        organization=organization, provider="aws", name="Contoso", account_id="1", auth_type="keys"
    )
    with pytest.raises(OnboardingError, match="already exists"):
        onboard(options, io.StringIO(CLIENT_SECRET), organization)
    assert clouds().count() == 0

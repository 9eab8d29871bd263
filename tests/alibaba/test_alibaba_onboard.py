"""Onboarding an Alibaba account: validated against the fake before anything is saved."""

from __future__ import annotations

import argparse
import io

import pytest
from django.core.management.base import CommandError

from harvesters.alibaba.onboard import add_arguments, onboard
from harvesters.base import AssumeRoleFailed, InvalidCredentials
from tests.fakes.alibaba_fake import ACCOUNT_ID, GOOD_KEY_ID, GOOD_KEY_SECRET, ROLE_ARN


def options_for(fake, *args: str, name: str = "acme-ali") -> dict:
    """Parse addcloud-style arguments the way the command will, plus --name."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    parsed = vars(parser.parse_args(["--endpoint-url", fake.url, *args]))
    return {**parsed, "name": name}


def clouds(organization):
    from insightcloud.inventory.models import CloudAccount

    return CloudAccount.objects.filter(organization=organization)


def test_valid_access_key_creates_one_cloud_with_every_available_region(alibaba_fake, organization):
    options = options_for(alibaba_fake, "--access-key-id", GOOD_KEY_ID)

    (cloud,) = onboard(options, io.StringIO(GOOD_KEY_SECRET + "\n"), organization)

    cloud.refresh_from_db()
    assert cloud.provider == "alibaba" and cloud.account_id == ACCOUNT_ID and cloud.name == "acme-ali"
    assert cloud.auth_type == "access_key"
    assert cloud.regions == ["cn-hangzhou", "cn-shanghai"]
    assert cloud.credentials == {"access_key_id": GOOD_KEY_ID, "access_key_secret": GOOD_KEY_SECRET}
    assert GOOD_KEY_SECRET not in str(cloud.auth_settings)
    assert cloud.auth_settings["endpoint_url"] == alibaba_fake.url


def test_secret_is_stored_encrypted_at_rest(alibaba_fake, organization):
    from django.db import connection

    (cloud,) = onboard(
        options_for(alibaba_fake, "--access-key-id", GOOD_KEY_ID), io.StringIO(GOOD_KEY_SECRET), organization
    )

    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM inventory_cloudaccount WHERE id = %s", [cloud.pk])
        (stored,) = cursor.fetchone()
    assert GOOD_KEY_SECRET not in str(stored)


def test_role_onboarding_validates_the_role_and_keeps_it(alibaba_fake, organization):
    options = options_for(
        alibaba_fake, "--access-key-id", GOOD_KEY_ID, "--role-arn", ROLE_ARN, "--regions", "cn-shanghai"
    )

    (cloud,) = onboard(options, io.StringIO(GOOD_KEY_SECRET), organization)

    assert cloud.auth_type == "assume_role"
    assert cloud.auth_settings["role_arn"] == ROLE_ARN
    assert cloud.regions == ["cn-shanghai"]
    assert "assumed-role/insightcloud-audit" in cloud.status_detail
    assert "AssumeRole" in alibaba_fake.actions("sts")


def test_invalid_key_saves_nothing(alibaba_fake, organization):
    options = options_for(alibaba_fake, "--access-key-id", "LTAIunknown")

    with pytest.raises(InvalidCredentials, match="InvalidAccessKeyId.NotFound"):
        onboard(options, io.StringIO("whatever"), organization)
    assert not clouds(organization).exists()


def test_wrong_secret_saves_nothing(alibaba_fake, organization):
    with pytest.raises(InvalidCredentials):
        onboard(options_for(alibaba_fake, "--access-key-id", GOOD_KEY_ID), io.StringIO("wrong"), organization)
    assert not clouds(organization).exists()


def test_unassumable_role_saves_nothing(alibaba_fake, organization):
    options = options_for(
        alibaba_fake, "--access-key-id", GOOD_KEY_ID, "--role-arn", f"acs:ram::{ACCOUNT_ID}:role/nope"
    )

    with pytest.raises(AssumeRoleFailed, match="role/nope"):
        onboard(options, io.StringIO(GOOD_KEY_SECRET), organization)
    assert not clouds(organization).exists()


def test_unknown_region_is_refused_and_saves_nothing(alibaba_fake, organization):
    options = options_for(alibaba_fake, "--access-key-id", GOOD_KEY_ID, "--regions", "cn-hangzhou,mars-1")

    with pytest.raises(CommandError, match="mars-1"):
        onboard(options, io.StringIO(GOOD_KEY_SECRET), organization)
    assert not clouds(organization).exists()


def test_missing_secret_is_refused_without_calling_the_cloud(alibaba_fake, organization):
    with pytest.raises(CommandError, match="secret is missing"):
        onboard(options_for(alibaba_fake, "--access-key-id", GOOD_KEY_ID), io.StringIO(""), organization)
    assert alibaba_fake.calls == [] and not clouds(organization).exists()


def test_secret_can_come_from_a_file(alibaba_fake, organization, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(GOOD_KEY_SECRET + "\n")
    options = options_for(alibaba_fake, "--access-key-id", GOOD_KEY_ID, "--secret-file", str(secret_file))

    (cloud,) = onboard(options, None, organization)

    assert cloud.credentials["access_key_secret"] == GOOD_KEY_SECRET


def test_endpoint_overrides_are_parsed_and_bad_ones_refused(alibaba_fake, organization):
    options = options_for(alibaba_fake, "--access-key-id", GOOD_KEY_ID, "--endpoint", f"ECS={alibaba_fake.url}")
    (cloud,) = onboard(options, io.StringIO(GOOD_KEY_SECRET), organization)
    assert cloud.auth_settings["endpoints"] == {"ecs": alibaba_fake.url}

    bad = options_for(alibaba_fake, "--access-key-id", GOOD_KEY_ID, "--endpoint", "ecs", name="other")
    with pytest.raises(CommandError, match="PRODUCT=URL"):
        onboard(bad, io.StringIO(GOOD_KEY_SECRET), organization)


def test_a_taken_name_is_refused(alibaba_fake, organization):
    onboard(options_for(alibaba_fake, "--access-key-id", GOOD_KEY_ID), io.StringIO(GOOD_KEY_SECRET), organization)

    with pytest.raises(CommandError, match="already exists"):
        onboard(options_for(alibaba_fake, "--access-key-id", GOOD_KEY_ID), io.StringIO(GOOD_KEY_SECRET), organization)
    assert clouds(organization).count() == 1


def test_onboarded_cloud_connects_through_the_driver(alibaba_fake, organization):
    from harvesters.base import get_driver

    (cloud,) = onboard(
        options_for(alibaba_fake, "--access-key-id", GOOD_KEY_ID), io.StringIO(GOOD_KEY_SECRET), organization
    )

    ctx = get_driver("alibaba").connect(cloud)
    assert ctx.account_id == ACCOUNT_ID

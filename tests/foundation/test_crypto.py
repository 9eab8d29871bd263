"""Cloud credentials are encrypted at rest and never shown in reprs or logs."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import override_settings

from insightcloud.inventory.models import CloudAccount

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def cloud(organization):
    return CloudAccount.objects.create(
        organization=organization,
        provider="aws",
        name="prod",
        account_id="111111111111",
        auth_type="keys",
        auth_settings={"endpoint_url": None},
        credentials={"access_key_id": "AKIAEXAMPLE", "secret_access_key": SECRET},
    )


def stored_column(cloud: CloudAccount) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM inventory_cloudaccount WHERE id = %s", [cloud.pk])
        return cursor.fetchone()[0]


def test_credentials_are_not_readable_in_the_database_row(cloud):
    column = stored_column(cloud)
    assert SECRET not in column
    assert "AKIAEXAMPLE" not in column
    assert CloudAccount.objects.get(pk=cloud.pk).credentials["secret_access_key"] == SECRET


def test_credentials_never_appear_in_repr_str_or_logs(cloud, caplog):
    loaded = CloudAccount.objects.get(pk=cloud.pk)
    logger = logging.getLogger("insightcloud.test")
    with caplog.at_level(logging.INFO):
        logger.info("cloud %r %s credentials %r %s", loaded, loaded, loaded.credentials, loaded.credentials)
    for text in (repr(loaded), str(loaded), repr(loaded.credentials), str(loaded.credentials), caplog.text):
        assert SECRET not in text
    assert "secret_access_key" in repr(loaded.credentials)  # the keys are named, the values are not


def test_a_rotated_key_still_reads_what_the_old_key_wrote(cloud, settings):
    new_key = Fernet.generate_key().decode()
    with override_settings(ENCRYPTION_KEYS=[new_key, *settings.ENCRYPTION_KEYS]):
        loaded = CloudAccount.objects.get(pk=cloud.pk)
        assert loaded.credentials["secret_access_key"] == SECRET
        loaded.save()
    with override_settings(ENCRYPTION_KEYS=[new_key]):
        assert CloudAccount.objects.get(pk=cloud.pk).credentials["secret_access_key"] == SECRET


def test_a_wrong_key_gives_a_clear_error(cloud):
    wrong_key = override_settings(ENCRYPTION_KEYS=[Fernet.generate_key().decode()])
    with wrong_key, pytest.raises(ValueError, match="INSIGHTCLOUD_ENCRYPTION_KEY differs"):
        CloudAccount.objects.get(pk=cloud.pk)

"""Shared fixtures. The README's test command runs these against real MariaDB and Redis
(DIVVY_DB_HOST / DIVVY_REDIS_HOST set); without them the suite runs on the embedded defaults
and the tests that need Redis are skipped.

Several test runs may share one MariaDB/Redis (helpers, CI): give each its own
``DIVVY_DB_NAME`` (the test database is ``test_<name>``) and ``INSIGHTCLOUD_REDIS_DB``.
"""

from __future__ import annotations

import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing costs a second per user on a busy 2-core machine; tests need no strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def redis_client():
    """A real Redis connection on the configured test database number, emptied before the test."""
    if settings.EMBEDDED_BROKER:
        pytest.skip("needs Redis (set DIVVY_REDIS_HOST)")
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def organization(db):
    from insightcloud.inventory.models import Organization

    return Organization.objects.create(name="Acme", slug="acme")


@pytest.fixture
def other_organization(db):
    from insightcloud.inventory.models import Organization

    return Organization.objects.create(name="Globex", slug="globex")

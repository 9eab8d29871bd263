"""Personas for access tests: a domain admin, an organization admin, a basic user with a role,
a domain viewer, and an outsider from another organization."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from insightcloud.accounts.models import AccessLevel, Role, User
from insightcloud.inventory.models import CloudAccount, Resource

PASSWORD = "correct-horse-battery-9"


def make_user(username: str, organization, level: str = AccessLevel.BASIC, **extra) -> User:
    return User.objects.create_user(username, password=PASSWORD, organization=organization, access_level=level, **extra)


def gui(user: User) -> Client:
    """A test client logged in as the user (no login round trip)."""
    client = Client()
    client.force_login(user)
    return client


def api(user: User) -> APIClient:
    """An API client authenticated as the user."""
    client = APIClient()
    client.force_authenticate(user)
    return client


def make_cloud(organization, name: str, account_id: str = "111111111111") -> CloudAccount:
    return CloudAccount.objects.create(
        organization=organization,
        provider="aws",
        name=name,
        account_id=account_id,
        auth_type="keys",
        credentials={"access_key_id": "AKIA", "secret_access_key": "s3cr3t-value"},
        status="ok",
    )


def make_resource(cloud: CloudAccount, native_id: str, name: str = "", **extra) -> Resource:
    fields = {
        "provider": "aws",
        "resource_type": "storage_container",
        "native_type": "aws.s3.bucket",
        "region": "us-east-1",
        "name": name or native_id,
        "fingerprint": "f",
        "properties": {"public": False},
        **extra,
    }
    return Resource.objects.create(cloud=cloud, native_id=native_id, **fields)


@pytest.fixture
def estate(organization, other_organization):
    """Acme has two clouds with a bucket each; Globex has one cloud with a bucket."""
    prod = make_cloud(organization, "acme-prod")
    dev = make_cloud(organization, "acme-dev", "222222222222")
    globex = make_cloud(other_organization, "globex-prod", "333333333333")
    return {
        "prod": prod,
        "dev": dev,
        "globex": globex,
        "prod_bucket": make_resource(prod, "arn:aws:s3:::acme-prod-logs", tags={"env": "prod"}),
        "dev_bucket": make_resource(dev, "arn:aws:s3:::acme-dev-scratch", tags={"env": "dev"}),
        "globex_bucket": make_resource(globex, "arn:aws:s3:::globex-secrets"),
    }


@pytest.fixture
def users(organization, other_organization, estate):
    admin = make_user("admin", organization, AccessLevel.DOMAIN_ADMIN)
    org_admin = make_user("acme-admin", organization, AccessLevel.ORGANIZATION_ADMIN)
    viewer = make_user("auditor", organization, AccessLevel.DOMAIN_VIEWER)
    member = make_user("member", organization)
    outsider = make_user("outsider", other_organization)
    role = Role.objects.create(organization=organization, name="prod readers")
    role.clouds.add(estate["prod"])
    role.users.add(member)
    globex_role = Role.objects.create(organization=other_organization, name="everything", all_clouds=True)
    globex_role.users.add(outsider)
    return {"admin": admin, "org_admin": org_admin, "viewer": viewer, "member": member, "outsider": outsider}


@pytest.fixture
def evaluated(estate):
    """The prod bucket is made public, then every cloud is evaluated."""
    from compliance.evaluate import evaluate_cloud

    bucket = estate["prod_bucket"]
    bucket.properties = {"public": True, "public_reasons": ["ACL grants AllUsers READ"]}
    bucket.save()
    for cloud in ("prod", "dev", "globex"):
        evaluate_cloud(estate[cloud], full=True)
    return estate

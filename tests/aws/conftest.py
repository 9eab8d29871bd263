"""AWS test fixtures: one moto server (ThreadedMotoServer on 127.0.0.1, a random port) for the
session, reset before every test, with a fault-injecting proxy in front of it; an AWS cloud
account pointing at the proxy; boto3 clients that talk to moto directly to seed the estate."""

from __future__ import annotations

import logging
import urllib.request

import pytest

from tests.aws.faults import FaultProxy
from tests.processes import free_port

ACCOUNT_ID = "123456789012"  # moto's default account
REGIONS = ["us-east-1", "eu-west-1"]
MOTO_AMI = "ami-03cf127a"  # one of moto's built-in Amazon images (listing them all takes seconds)

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log drowns the failures


@pytest.fixture(scope="session")
def moto_server():
    server_module = pytest.importorskip("moto.server")
    port = free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def fault_proxy_server(moto_server):
    proxy = FaultProxy(moto_server).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def moto(moto_server, monkeypatch):
    """The moto endpoint, emptied; AWS settings of the environment cannot leak into the test."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=30).read()
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return moto_server


@pytest.fixture
def fault_proxy(fault_proxy_server, moto, monkeypatch):
    """The proxy in front of moto, without faults; retries kept short so failing tests stay quick."""
    from harvesters import harvest
    from harvesters.aws import session

    fault_proxy_server.reset()
    monkeypatch.setattr(session, "MAX_ATTEMPTS", 2)
    monkeypatch.setattr(session, "RETRY_MODE", "standard")
    monkeypatch.setattr(harvest, "BACKOFF_BASE_SECONDS", 0.05)
    monkeypatch.setattr(harvest, "LISTING_ATTEMPTS", 3)
    yield fault_proxy_server
    fault_proxy_server.reset()


@pytest.fixture
def aws(moto):
    """``aws("ec2", region)``: a boto3 client straight to moto, to seed the estate."""
    import boto3

    def client(service: str, region: str = "us-east-1", **credentials: str):
        credentials = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        return boto3.client(service, region_name=region, endpoint_url=moto, **credentials)

    return client


@pytest.fixture
def make_cloud(organization, fault_proxy):
    """Make an AWS CloudAccount on the proxy in front of moto (keys or assume-role)."""
    from insightcloud.inventory.models import CloudAccount

    def make(name: str = "Prod AWS", *, account_id: str = ACCOUNT_ID, regions=None, **auth):
        auth_type = auth.pop("auth_type", "keys")
        credentials = auth.pop("credentials", {"access_key_id": "testing", "secret_access_key": "testing"})
        return CloudAccount.objects.create(
            organization=organization,
            provider="aws",
            name=name,
            account_id=account_id,
            auth_type=auth_type,
            auth_settings={"endpoint_url": fault_proxy.url, **auth},
            credentials=credentials,
            regions=list(REGIONS if regions is None else regions),
        )

    return make


@pytest.fixture
def cloud(make_cloud):
    return make_cloud()

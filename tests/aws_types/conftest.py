"""Fixtures for the AWS collector tests: one moto server for the session, reset before each test.

These tests call collectors directly and never touch the database, so they stay fast.
"""

from __future__ import annotations

import io
import logging
import urllib.request
import zipfile

import pytest

from tests.processes import free_port

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_url():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns the failures
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_url, monkeypatch):
    """An AwsContext on a freshly reset moto server."""
    from harvesters.aws.session import connect

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10).read()
    return connect("keys", {"endpoint_url": moto_url}, {"access_key_id": "testing", "secret_access_key": "testing"})


def collect(collector, ctx, region=REGION) -> dict:
    """Run a collector and index its records by name."""
    return {record.name: record for record in collector(ctx, region)}


LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def zipped_handler() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return 'ok'\n")
    return buffer.getvalue()


def make_function(aws, name: str, role: str, **extra) -> str:
    return aws.client("lambda", REGION).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": zipped_handler()},
        **extra,
    )["FunctionArn"]


@pytest.fixture
def faulty(aws, moto_url):
    """(proxy, context): an AwsContext whose calls go through a FaultProxy in front of the same moto."""
    from harvesters.aws.session import connect
    from tests.aws_types.faults import FaultProxy

    with FaultProxy(moto_url) as proxy:
        ctx = connect("keys", {"endpoint_url": proxy.url}, {"access_key_id": "testing", "secret_access_key": "testing"})
        yield proxy, ctx

"""boto3 (through harvesters.aws.session) honours https_proxy/http_proxy/no_proxy, with moto as AWS.

moto listens on 127.0.0.1; nothing here sets a default no_proxy, so 127.0.0.1 is proxied unless
a test lists it. An HTTPS moto (self-signed certificate trusted through AWS_CA_BUNDLE) exercises
CONNECT tunnelling as against real AWS endpoints.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from harvesters.base import HarvestError
from harvesters.proxy import describe_proxy_error
from tests.processes import free_port

KEYS = {"access_key_id": "AKIDEXAMPLE", "secret_access_key": "secret-example"}
PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "all_proxy")


class HttpsMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer over TLS."""

    def __init__(self, port: int, cert: str, key: str) -> None:
        super().__init__("127.0.0.1", port, verbose=False)
        self._ssl = (cert, key)

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler, ssl_context=self._ssl
        )
        self._server_ready_event.set()
        self._server.serve_forever()


@pytest.fixture(autouse=True)
def clean_proxy_environment(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer("127.0.0.1", free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def moto_https_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = HttpsMotoServer(free_port(), cert, key)
    server.start()
    host, port = server.get_host_and_port()
    yield f"https://{host}:{port}", cert
    server.stop()


def connect(endpoint: str):
    from harvesters.aws.session import connect as aws_connect

    return aws_connect("keys", {"endpoint_url": endpoint}, KEYS)


def test_every_aws_call_goes_through_the_proxy(forward_proxy, moto_url, monkeypatch):
    monkeypatch.setenv("http_proxy", forward_proxy.url)
    ctx = connect(moto_url)
    ctx.client("s3").create_bucket(Bucket="proxied-bucket")
    ctx.client("ec2", "eu-west-1").describe_instances()
    assert ctx.account_id == "123456789012"
    requests = [r for r in forward_proxy.requests if r.status == 200]
    assert {r.host for r in requests} == {"127.0.0.1"}
    assert len(requests) >= 3  # sts, s3, ec2: each call was forwarded, none went direct
    assert all(r.target.startswith(moto_url) for r in requests)


def test_hosts_in_no_proxy_bypass_the_proxy(forward_proxy, moto_url, monkeypatch):
    monkeypatch.setenv("http_proxy", forward_proxy.url)
    monkeypatch.setenv("no_proxy", "mysql,redis,169.254.169.254,127.0.0.1")
    ctx = connect(moto_url)
    ctx.client("s3").list_buckets()
    assert forward_proxy.requests == []


def test_credentials_in_the_proxy_url_work(authenticating_proxy, moto_url, monkeypatch):
    monkeypatch.setenv("http_proxy", authenticating_proxy.url_with_credentials)
    ctx = connect(moto_url)
    ctx.client("s3").list_buckets()
    assert {(r.user, r.status) for r in authenticating_proxy.requests} == {("scanner", 200)}


def test_https_goes_through_a_connect_tunnel(forward_proxy, moto_https_url, monkeypatch):
    url, cert = moto_https_url
    monkeypatch.setenv("https_proxy", forward_proxy.url)
    monkeypatch.setenv("AWS_CA_BUNDLE", cert)
    ctx = connect(url)
    ctx.client("s3").list_buckets()
    methods = {r.method for r in forward_proxy.requests}
    assert methods == {"CONNECT"}
    assert forward_proxy.hosts() == {"127.0.0.1"}


def test_a_proxy_that_wants_credentials_we_lack_is_a_clear_error_not_a_hang(
    authenticating_proxy, moto_https_url, monkeypatch
):
    url, cert = moto_https_url
    monkeypatch.setenv("https_proxy", authenticating_proxy.url)  # no user and password
    monkeypatch.setenv("AWS_CA_BUNDLE", cert)
    started = time.monotonic()
    with pytest.raises(HarvestError) as raised:
        connect(url)
    assert time.monotonic() - started < 60
    assert "proxy" in str(raised.value).lower()
    assert {r.status for r in authenticating_proxy.requests} == {407}
    assert "407" in describe_proxy_error(raised.value.__context__ or raised.value)

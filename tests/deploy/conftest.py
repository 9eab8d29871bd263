"""Fixtures of the deploy tests: the forward proxy, a fake Sentry, a local HTTPS target."""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading

import pytest

from tests.fakes.forward_proxy import authenticating_proxy, forward_proxy  # noqa: F401 (fixtures)
from tests.fakes.sentry_endpoint import fake_sentry  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def https_target(tmp_path_factory):
    """A local HTTPS server (self-signed for 127.0.0.1) standing for a cloud API host; yields (url, ca_file)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):  # noqa: N802
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/", str(cert)
    server.shutdown()

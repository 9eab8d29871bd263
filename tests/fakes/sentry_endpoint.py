"""A fake Sentry ingestion endpoint on 127.0.0.1: stores every envelope it receives, decompressed."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
import zlib

import pytest


class FakeSentry:
    def __init__(self) -> None:
        self.envelopes: list[bytes] = []
        self._lock = threading.Lock()
        self._received = threading.Condition(self._lock)
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                elif encoding == "br":
                    import brotli

                    body = brotli.decompress(body)
                with fake._received:
                    fake.envelopes.append(body)
                    fake._received.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id": "0"}')

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.dsn = f"http://public@127.0.0.1:{self.port}/1"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        """The error events received (envelope items of type "event")."""
        found = []
        with self._lock:
            for envelope in self.envelopes:
                lines = envelope.split(b"\n")
                for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                    if json.loads(header).get("type") == "event":
                        found.append(json.loads(payload))
        return found

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def fake_sentry():
    sentry = FakeSentry()
    yield sentry
    sentry.stop()

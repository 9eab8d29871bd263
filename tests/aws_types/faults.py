"""A small HTTP proxy in front of moto that answers chosen requests with an AWS error.

The SDK's real code runs end to end (signing, retries, error parsing); only the server's answer
changes. A rule matches on the method and a substring of the path and query (or the JSON
``X-Amz-Target`` header, or the form body of query APIs) and returns the status and error code an AWS service would.
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.processes import free_port


@dataclass
class Fault:
    method: str
    contains: str  # a substring of "path?query", of the X-Amz-Target header or of a form body (Action=…)
    status: int
    code: str
    protocol: str = "xml"  # "xml" (S3, query APIs) or "json" (rest-json, json APIs)
    hits: int = 0


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.faults: list[Fault] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.headers.get("X-Amz-Target", "")
                for fault in proxy.faults:
                    searched = (self.path, target, body.decode("utf-8", "replace"))
                    if self.command == fault.method and any(fault.contains in text for text in searched):
                        fault.hits += 1
                        return self._error(fault)
                connection = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = self.headers.get("Host", "")
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                connection.close()

            def _error(self, fault: Fault) -> None:
                if fault.protocol == "json":
                    payload = json.dumps({"__type": fault.code, "message": "injected by FaultProxy"}).encode()
                    content_type = "application/json"
                else:
                    payload = (
                        f"<Error><Code>{fault.code}</Code><Message>injected by FaultProxy</Message></Error>"
                    ).encode()
                    content_type = "application/xml"
                self.send_response(fault.status)
                self.send_header("Content-Type", content_type)
                self.send_header("x-amzn-ErrorType", fault.code)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle  # noqa: N815 (http.server's names)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

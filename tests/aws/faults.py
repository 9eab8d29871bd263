"""A small fault-injecting HTTP forwarder to put in front of moto.

Requests pass through unchanged unless a rule matches their API action (``DescribeVolumes``,
``AssumeRole`` … from the Query ``Action`` or the JSON ``X-Amz-Target``) and optionally the
access key that signed them; a matching rule answers with an AWS-shaped error instead
(500 InternalError, 503 RequestLimitExceeded, 403 InvalidClientTokenId …), as AWS would.
Every request is counted per action so tests can check that a call was retried.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


@dataclass
class Fault:
    action: str | None  # None: any action
    status: int
    code: str
    message: str = "injected by the test proxy"
    times: int | None = None  # None: always
    access_key: str | None = None  # only requests signed with this key


class FaultProxy:
    def __init__(self, target: str) -> None:
        parsed = urllib.parse.urlparse(target)
        self.target_host, self.target_port = parsed.hostname, parsed.port
        self.faults: list[Fault] = []
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle_any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action, service, key = proxy.describe(self.command, self.path, self.headers, body)
                fault = proxy.match(action, key)
                if fault:
                    self.reply(*proxy.error_response(fault, service, self.headers))
                    return
                connection = http.client.HTTPConnection(proxy.target_host, proxy.target_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "host")}
                headers["Host"] = self.headers.get("Host", "")
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                reply_headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
                connection.close()
                self.reply(response.status, reply_headers, payload)

            def reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- rules -------------------------------------------------------------------------

    def add(self, action: str | None, status: int = 500, code: str = "InternalError", **kwargs: object) -> Fault:
        fault = Fault(action, status, code, **kwargs)
        with self.lock:
            self.faults.append(fault)
        return fault

    def throttle(self, action: str, times: int | None = None) -> Fault:
        return self.add(action, 503, "RequestLimitExceeded", message="Request limit exceeded.", times=times)

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.hits.clear()

    def match(self, action: str, key: str) -> Fault | None:
        with self.lock:
            self.hits[action] += 1
            for fault in self.faults:
                if fault.action not in (None, action) or fault.access_key not in (None, key):
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                return fault
        return None

    @staticmethod
    def describe(method: str, path: str, headers: object, body: bytes) -> tuple[str, str, str]:
        authorization = headers.get("Authorization", "")
        found = _CREDENTIAL.search(authorization)
        key, service = (found.group(1), found.group(2)) if found else ("", "")
        target = headers.get("X-Amz-Target")
        if target:
            return target.rsplit(".", 1)[-1], service, key
        query = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if body and b"Action=" in body else {}
        action = (form.get("Action") or query.get("Action") or [f"{method} {urllib.parse.urlparse(path).path}"])[0]
        return action, service, key

    @staticmethod
    def error_response(fault: Fault, service: str, headers: object) -> tuple[int, list[tuple[str, str]], bytes]:
        if headers.get("X-Amz-Target"):
            payload = json.dumps({"__type": fault.code, "message": fault.message}).encode()
            return fault.status, [("Content-Type", "application/x-amz-json-1.1")], payload
        if service == "ec2":
            xml = (
                f"<Response><Errors><Error><Code>{fault.code}</Code><Message>{fault.message}</Message></Error>"
                "</Errors><RequestID>fault-proxy</RequestID></Response>"
            )
        else:
            xml = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{fault.code}</Code><Message>{fault.message}"
                "</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
            )
        return fault.status, [("Content-Type", "text/xml")], xml.encode()

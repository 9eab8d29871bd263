"""A small forward proxy for tests: CONNECT tunnels and absolute-URI forwarding, optional Basic auth.

It records every request's target (method, host, port, and the user it authenticated as), so a
test can assert what went through the proxy and what did not::

    def test_harvest_goes_through_the_proxy(forward_proxy, monkeypatch):
        monkeypatch.setenv("https_proxy", forward_proxy.url)
        ...
        assert "sts.amazonaws.test" in forward_proxy.hosts()

``ForwardProxy(user="u", password="p")`` answers 407 to requests without those credentials;
``forward_proxy.url_with_credentials`` is the ``http://USER:PASSWORD@HOST:PORT`` form.
"""

from __future__ import annotations

import base64
import contextlib
import select
import socket
import socketserver
import threading
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import pytest

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer", "upgrade"}


@dataclass(frozen=True)
class ProxiedRequest:
    method: str
    host: str
    port: int
    target: str  # the request target as the client sent it
    user: str | None  # from Proxy-Authorization, when given
    status: int  # what the proxy answered (200 tunnel/forwarded, 407, 502 …)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # a client or upstream hung up: nothing to relay
            self._handle()

    def _handle(self) -> None:
        request_line = self.rfile.readline(65536).decode("latin-1").strip()
        if not request_line:
            return
        method, target, _version = request_line.split(" ", 2)
        headers: list[tuple[str, str]] = []
        while True:
            line = self.rfile.readline(65536).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        lookup = {name.lower(): value for name, value in headers}

        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            host, port_number = host.strip("[]"), int(port)
        else:
            parts = urlsplit(target)
            host = parts.hostname or ""
            port_number = parts.port or (443 if parts.scheme == "https" else 80)

        user = self._authenticated_user(lookup.get("proxy-authorization"))
        if self.server.proxy.user is not None and user != self.server.proxy.user:
            self.server.proxy._record(ProxiedRequest(method, host, port_number, target, None, 407))
            self._reply(407, "Proxy Authentication Required", extra='Proxy-Authenticate: Basic realm="test"\r\n')
            return
        try:
            upstream = socket.create_connection((host, port_number), timeout=10)
        except OSError:
            self.server.proxy._record(ProxiedRequest(method, host, port_number, target, user, 502))
            self._reply(502, "Bad Gateway")
            return
        self.server.proxy._record(ProxiedRequest(method, host, port_number, target, user, 200))
        with upstream:
            if method == "CONNECT":
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                self._pipe(self.connection, upstream)
            else:
                self._forward(method, target, headers, lookup, upstream)

    def _authenticated_user(self, header: str | None) -> str | None:
        if not header or not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user if password == self.server.proxy.password else None

    def _reply(self, status: int, reason: str, extra: str = "") -> None:
        body = f"{status} {reason}\n".encode()
        self.wfile.write(
            f"HTTP/1.1 {status} {reason}\r\n{extra}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        self.wfile.flush()

    def _forward(self, method: str, target: str, headers, lookup, upstream: socket.socket) -> None:
        parts = urlsplit(target)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        lines = [f"{method} {path} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in headers if name.lower() not in HOP_BY_HOP]
        lines.append("Connection: close")  # one request per connection keeps the relay simple
        upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        length = int(lookup.get("content-length", "0") or 0)
        if length:
            upstream.sendall(self.rfile.read(length))
        # Relay the response, telling the client the connection ends with it.
        reader = upstream.makefile("rb")
        status_line = reader.readline(65536)
        response_headers = []
        while True:
            line = reader.readline(65536)
            if line in (b"\r\n", b"\n", b""):
                break
            if line.split(b":", 1)[0].strip().lower() not in (b"connection", b"keep-alive"):
                response_headers.append(line)
        self.wfile.write(status_line + b"".join(response_headers) + b"Connection: close\r\n\r\n")
        while chunk := reader.read1(65536):
            self.wfile.write(chunk)
        self.wfile.flush()

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        sockets = [client, upstream]
        while True:
            readable, _, broken = select.select(sockets, [], sockets, 30)
            if broken or not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (upstream if sock is client else client).sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: ForwardProxy


class ForwardProxy:
    """A running forward proxy on 127.0.0.1; ``requests`` lists what it was asked to reach."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        self.user = user
        self.password = password
        self.requests: list[ProxiedRequest] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url_with_credentials(self) -> str:
        return f"http://{quote(self.user or '', safe='')}:{quote(self.password or '', safe='')}@127.0.0.1:{self.port}"

    def start(self) -> ForwardProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, request: ProxiedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def hosts(self, status: int | None = 200) -> set[str]:
        """Target hosts the proxy handled (by default only those it let through)."""
        with self._lock:
            return {r.host for r in self.requests if status is None or r.status == status}

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()


@pytest.fixture
def forward_proxy():
    proxy = ForwardProxy().start()
    yield proxy
    proxy.stop()


@pytest.fixture
def authenticating_proxy():
    """A proxy that wants user "scanner" with password "p@ss:word" (characters that need quoting in URLs)."""
    proxy = ForwardProxy(user="scanner", password="p@ss:word").start()
    yield proxy
    proxy.stop()

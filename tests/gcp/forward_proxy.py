"""A tiny forward HTTP proxy that records what passes through it (CONNECT tunnels and plain requests)."""

from __future__ import annotations

import select
import socket
import socketserver
import threading


class _ProxyHandler(socketserver.StreamRequestHandler):
    proxy: RecordingProxy
    rbufsize = 0  # unbuffered: nothing the client sent after the headers hides in a read buffer

    def handle(self) -> None:
        request_line = self.rfile.readline(65537).decode("latin-1").strip()
        if not request_line:
            return
        method, target, version = request_line.split(" ", 2)
        headers = []
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            headers.append(line)
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            self.proxy.seen.append(("CONNECT", target))
            upstream = socket.create_connection((host, int(port)), timeout=10)
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            self._pipe(upstream)
            return
        # An absolute-URI request: forward it in origin form.
        self.proxy.seen.append((method, target))
        rest = target.split("://", 1)[1]
        authority, _, path = rest.partition("/")
        host, _, port = authority.partition(":")
        upstream = socket.create_connection((host, int(port or 80)), timeout=10)
        upstream.sendall(f"{method} /{path} {version}\r\n".encode("latin-1") + b"".join(headers) + b"\r\n")
        self._pipe(upstream)

    def _pipe(self, upstream: socket.socket) -> None:
        client = self.connection
        sockets = [client, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 10)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)
        finally:
            upstream.close()


class RecordingProxy:
    """``start()`` it, point ``http_proxy`` at ``url``; ``seen`` lists ``(method, target)``."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        handler = type("Handler", (_ProxyHandler,), {"proxy": self})
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RecordingProxy:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

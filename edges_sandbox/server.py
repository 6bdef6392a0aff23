"""The HTTP layer: a loopback-only ``ThreadingHTTPServer`` translating HTTP to :class:`Request`."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from edges_sandbox.encoding import JsonBytes
from edges_sandbox.wire import JSON_TYPE, ApiError, Request, Response

HOST = "127.0.0.1"
CONTROL_PREFIX = "/_sandbox/"
MAX_BODY = 10 * 1024 * 1024

RequestHandlerFn = Callable[[Request], Response]


class SandboxServer(ThreadingHTTPServer):
    """A threading HTTP server bound to 127.0.0.1 that knows where to send requests."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops connections under a parallel tap

    def __init__(self, port: int, api: RequestHandlerFn, control: RequestHandlerFn) -> None:
        """Bind the server.

        Args:
            port: TCP port (0 = ephemeral).
            api: Answers API requests.
            control: Answers ``/_sandbox/`` requests.
        """
        super().__init__((HOST, port), _Handler)
        self.api = api
        self.control = control

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Send each answer in one go without waiting for ACKs (avoids 40 ms delayed-ACK stalls).
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024
    server: SandboxServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Stay silent: the sandbox keeps its own request log."""

    def _serve(self) -> None:
        request = self._request()
        if request.path.startswith(CONTROL_PREFIX):
            response = self._control(request)
        else:
            response = self.server.api(request)
        self._send(response)

    def _control(self, request: Request) -> Response:
        if not ipaddress.ip_address(self.client_address[0]).is_loopback:
            return ApiError(403, "STATUS_403", "sandbox control is loopback only").response()
        return self.server.control(request)

    def _request(self) -> Request:
        parts = urlsplit(self.path)
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        body = self.rfile.read(length) if length > 0 else b""
        return Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            body=body,
            origin=self.server.origin,
            api_key=self.headers.get("X-API-Key"),
        )

    def _send(self, response: Response) -> None:
        if response.headers.get("X-Sandbox-Lost") == "reset":  # the answer never arrives
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = response.encoded()
        self.send_response(response.status)
        if isinstance(response.body, bytes) and not isinstance(response.body, JsonBytes):
            self.send_header("Content-Type", "text/html; charset=utf-8")
        elif response.body is not None:
            self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)

"""The HTTP request handler of the endpoint: moto's, with HTTP/1.1 keep-alive."""

from __future__ import annotations

import logging
import socket
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.wsgi import LimitedStream

LOG = logging.getLogger("local_aws")


class VerboseHandler(MotoRequestHandler):
    """moto's request handler with HTTP/1.1 keep-alive.

    werkzeug's development server closes every connection and then waits up to 10 ms for stray
    request bytes; SDK clients reuse connections, so answering on the same connection saves a TCP
    handshake and a thread start per call. The request body is bounded by Content-Length (always
    sent by the SDKs) and drained after the application ran; chunked requests fall back to
    werkzeug's close-after-response handling.
    """

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            super().run_wsgi()
            self.close_connection = True
            return
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.environ = self.make_environ()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body_stream = LimitedStream(self.rfile, max(length, 0))
        environ["wsgi.input"] = body_stream
        response: dict[str, Any] = {}

        def start_response(status, headers, exc_info=None):
            response["status"], response["headers"] = status, headers
            return lambda data: response.setdefault("written", []).append(data)

        try:
            iterable = self.server.app(environ, start_response)
            try:
                chunks = [*response.get("written", []), *iterable]
            finally:
                if hasattr(iterable, "close"):
                    iterable.close()
        except Exception:
            self.server.log("error", "Error on request %s %s", self.command, self.path)
            LOG.exception("local_aws: unhandled error for %s %s", self.command, self.path)
            response = {
                "status": "500 Internal Server Error",
                "headers": [("Content-Type", "text/plain")],
            }
            chunks = [b"Internal Server Error"]
            self.close_connection = True
        body_stream.exhaust()
        body = b"".join(chunks)
        wants_close = (
            self.request_version != "HTTP/1.1"
            or self.headers.get("Connection", "").lower() == "close"
        )
        self.close_connection = self.close_connection or wants_close
        lines = [f"{self.protocol_version} {response['status']}"]
        has_length = False
        for name, value in response["headers"]:
            lowered = name.lower()
            if lowered == "connection":
                continue
            has_length = has_length or lowered == "content-length"
            lines.append(f"{name}: {value}")
        if not has_length:
            lines.append(f"Content-Length: {len(body)}")
        lines.append(f"Server: {self.version_string()}")
        lines.append(f"Date: {self.date_time_string()}")
        lines.append("Connection: " + ("close" if self.close_connection else "keep-alive"))
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if self.command == "HEAD" else head + body)
        code = response["status"].split(" ", 1)[0]
        self.log_request(int(code) if code.isdigit() else code, len(body))


class QuietHandler(VerboseHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            super().log(type, message, *args)

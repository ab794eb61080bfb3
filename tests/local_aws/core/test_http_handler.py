"""The endpoint's HTTP handler (local_aws/core/http_handler.py) keeps connections alive.

It replaces part of werkzeug's request handling (through moto's MotoRequestHandler), so these
tests fail when an upgrade of either changes what it relies on.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit


def _connection(local_stack) -> http.client.HTTPConnection:
    url = urlsplit(local_stack.endpoint_url)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=10)


def test_two_requests_share_one_connection(local_stack):
    connection = _connection(local_stack)
    try:
        sockets = []
        for _ in range(2):
            connection.request("GET", "/_local_aws/health")
            response = connection.getresponse()
            assert response.status == 200
            assert response.getheader("Connection") == "keep-alive"
            assert json.loads(response.read())["status"] == "ok"
            sockets.append(connection.sock)
        assert sockets[0] is sockets[1] is not None  # no reconnect between the two
    finally:
        connection.close()


def test_connection_close_is_honoured(local_stack):
    connection = _connection(local_stack)
    try:
        connection.request("GET", "/_local_aws/health", headers={"Connection": "close"})
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Connection") == "close"
        response.read()
    finally:
        connection.close()


def test_a_chunked_request_is_answered_then_the_connection_closes(local_stack):
    # werkzeug's own handling serves it; the gateway does not read chunked bodies (it only
    # buffers Content-Length ones for moto), so the control route sees an empty rule.
    connection = _connection(local_stack)
    try:
        body = json.dumps({"service": "sqs", "operation": "Nothing", "error_code": "X"})
        connection.request(
            "POST", "/_local_aws/faults", body=iter([body.encode()]), encode_chunked=True,
            headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        )  # fmt: skip
        response = connection.getresponse()
        assert response.status == 400
        assert "error" in json.loads(response.read())
        assert response.getheader("Connection") == "close"
        assert local_stack.faults.stats() == []
    finally:
        connection.close()
        local_stack.faults.clear()

"""Local X-Ray daemon: the UDP listener aws-xray-sdk sends closed (sub)segments to.

In Lambda the SDK sends each document to the daemon at `AWS_XRAY_DAEMON_ADDRESS`; the local
Lambda runtime gets this daemon's address in the functions' environment.
"""

from __future__ import annotations

import logging
import socket
import threading

from local_aws.xray.store import SegmentError, TraceStore

LOG = logging.getLogger("local_aws.xray")
DAEMON_HEADER = '{"format": "json", "version": 1}'


class XRayDaemon:
    """The UDP listener the SDKs send to (`AWS_XRAY_DAEMON_ADDRESS`), writing into a TraceStore."""

    def __init__(self, store: TraceStore, host: str = "127.0.0.1", port: int = 0) -> None:
        self.store = store
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self.received = 0
        self.rejected = 0
        self._thread = threading.Thread(target=self._loop, name="local-xray-daemon", daemon=True)
        self._stopped = threading.Event()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> XRayDaemon:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        try:  # wake the blocking recvfrom
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as waker:
                waker.sendto(b"", (self.host, self.port))
        except OSError:
            pass
        self._thread.join(timeout=2)
        self._socket.close()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                data, _ = self._socket.recvfrom(65535)
            except OSError:
                return
            if not data or self._stopped.is_set():
                continue
            self.handle(data)

    def handle(self, data: bytes) -> None:
        """One datagram: the daemon protocol header line, then one segment document."""
        text = data.decode("utf-8", "replace")
        header, sep, body = text.partition("\n")
        if not sep:
            body = header
        try:
            self.store.put(body)
            self.received += 1
        except SegmentError as exc:
            self.rejected += 1
            LOG.debug("X-Ray daemon rejected a segment: %s", exc.message)

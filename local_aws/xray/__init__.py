"""Local X-Ray: a daemon, the segments AWS services record, and the X-Ray API on the endpoint.

store.py (documents by trace id), daemon.py (the UDP listener the SDKs send to), segments.py
(the Lambda and Step Functions segments AWS records itself), api.py (the X-Ray API), and
trace_header.py (X-Amzn-Trace-Id headers). `attach()` wires them into a LocalAWS.
"""

from __future__ import annotations

from typing import Any

from local_aws import config as settings
from local_aws.xray.api import PATHS, XRayApi
from local_aws.xray.daemon import XRayDaemon
from local_aws.xray.segments import SegmentRecorder
from local_aws.xray.store import TraceStore


class LocalXRay:
    """The store, the daemon, the segment recorder and the X-Ray API of one endpoint."""

    def __init__(
        self,
        account_id: str = settings.DEFAULT_ACCOUNT_ID,
        region: str = settings.DEFAULT_REGION,
    ) -> None:
        self.store = TraceStore()
        self.segments = SegmentRecorder(self.store, account_id, region)
        self.api = XRayApi(self.store)
        self.daemon: XRayDaemon | None = None
        # The recorder's and the API's entry points, as listeners and WSGI app.
        self.on_invocation = self.segments.on_invocation
        self.on_execution_end = self.segments.on_execution_end
        self.handle = self.api.handle
        self.wsgi = self.api.wsgi

    def attach(self, aws: Any) -> LocalXRay:
        """Start the daemon and hook into a LocalAWS: Lambda env + invocations, executions, API."""
        self.segments.account_id, self.segments.region = aws.account_id, aws.region
        if self.daemon is None:
            self.daemon = XRayDaemon(self.store).start()
        aws.lambdas.extra_env["AWS_XRAY_DAEMON_ADDRESS"] = self.daemon.address
        if self.on_invocation not in aws.lambdas.invocation_listeners:
            aws.lambdas.invocation_listeners.append(self.on_invocation)
        if self.on_execution_end not in aws.stepfunctions.execution_listeners:
            aws.stepfunctions.execution_listeners.append(self.on_execution_end)
        for path in PATHS:
            aws.mount(path, self.wsgi)
        return self

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()
            self.daemon = None


def attach(aws: Any) -> LocalXRay:
    """Local X-Ray for a LocalAWS (called by LocalAWS.start)."""
    return LocalXRay(aws.account_id, aws.region).attach(aws)


__all__ = ["LocalXRay", "SegmentRecorder", "TraceStore", "XRayApi", "XRayDaemon", "attach"]

"""LocalAWS: one local HTTP endpoint serving moto, with what moto lacks in front of it.

    with LocalAWS(port=0) as aws:            # port 0: pick a free port
        aws.lambdas.register(FunctionSpec("echo", Path("fn/echo")))
        sfn = aws.client("stepfunctions")     # inject_host_prefix=False already set
        ...

What it answers itself and what it hands to moto: local_aws/core/gateway.py. Other WSGI apps
can be served on the same endpoint with `mount()` (the X-Ray API is; a tool on top may mount
its own UI, e.g. the pipeline's web console).
"""

from __future__ import annotations

import io
import logging
import os
import threading
from typing import Any

from werkzeug.serving import make_server

from local_aws import clients, moto_patches, xray
from local_aws import config as settings
from local_aws.awslambda.runtime import FunctionNotFound, LambdaRuntime
from local_aws.core.gateway import ApiCallCounter, Gateway
from local_aws.core.http_handler import QuietHandler, VerboseHandler
from local_aws.faults import FaultInjector
from local_aws.iam.enforcer import IamEnforcer
from local_aws.stepfunctions.executions import StepFunctionsFront


class LocalAWS:
    """The embedded AWS: moto in server mode plus the local Lambda runtime, StartSyncExecution
    and fault injection, on one endpoint. One instance per process (moto's state is global)."""

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        region: str = settings.DEFAULT_REGION,
        account_id: str = settings.DEFAULT_ACCOUNT_ID,
        *,
        max_workers_per_function: int | None = None,
        fault_seed: int | None = None,
        verbose: bool = False,
    ):
        if port is None:
            port = settings.port()
        self.host = host
        self.port = port
        self.region = region
        self.account_id = account_id
        self.verbose = verbose
        self.faults = FaultInjector(seed=fault_seed)
        self.lambdas = LambdaRuntime(
            lambda: self.endpoint_url,
            account_id=account_id,
            region=region,
            max_workers_per_function=max_workers_per_function,
        )
        self.stepfunctions = StepFunctionsFront(account_id, region)
        self.iam = IamEnforcer(account_id, region)
        if self.iam.enabled:  # each principal calls with its own role's credentials
            self.lambdas.role_credentials = self._role_environment
        self.api_calls = ApiCallCounter()
        # Extra WSGI apps served on this endpoint (see mount()): exact paths, and prefixes.
        self._mounts: dict[str, Any] = {}
        self._prefix_mounts: list[tuple[str, Any]] = []
        self.xray: xray.LocalXRay | None = None  # once started
        # As Step Functions Local does (docs/testing.md, "Mocked test cases").
        if os.environ.get("SFN_MOCK_CONFIG"):
            from local_aws.stepfunctions import mock_config

            mock_config.install(self)
        self._server = None
        self._thread: threading.Thread | None = None

    def mount(self, path: str, app: Any) -> None:
        """Serve the WSGI `app` at `path` (exact), or under it when `path` ends with "/".

        Used by other parts of the local stack (the X-Ray API, the web console). Mounted paths
        are matched before the control routes, fault injection and moto.
        """
        if path.endswith("/"):
            self._prefix_mounts = [m for m in self._prefix_mounts if m[0] != path]
            self._prefix_mounts.append((path, app))
            self._prefix_mounts.sort(key=lambda m: -len(m[0]))
        else:
            self._mounts[path] = app

    def mounted_app(self, path: str) -> Any:
        app = self._mounts.get(path)
        if app is None and self._prefix_mounts:
            for prefix, candidate in self._prefix_mounts:
                if path.startswith(prefix) or path == prefix.rstrip("/"):
                    return candidate
        return app

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalAWS:
        if self._server is not None:
            return self
        moto_patches.apply()
        if not self.verbose:
            for name in ("werkzeug", "moto", "botocore", "boto3"):
                logging.getLogger(name).setLevel(logging.WARNING)
            logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
        handler = QuietHandler if not self.verbose else VerboseHandler
        self._server = make_server(
            self.host, self.port, Gateway(self), threaded=True, request_handler=handler
        )
        self.port = self._server.server_port
        # moto (and its interpreter, were it not patched) calls itself back on MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        moto_patches.set_endpoint(self.endpoint_url)
        moto_patches.set_lambda_invoker(self._invoke_in_process)
        if self.iam.enabled:
            moto_patches.set_role_credentials(self._role_client_args)
        # Local X-Ray: daemon, the segments AWS services record, X-Ray API.
        self.xray = xray.attach(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-aws-server", daemon=True
        )
        self._thread.start()
        return self

    def _role_environment(self, role_arn: str, session_name: str) -> dict[str, str] | None:
        from local_aws.iam.credentials import assume_role

        session = assume_role(self.endpoint_url, self.region, role_arn, session_name)
        return session.as_environment() if session is not None else None

    def _role_client_args(self, role_arn: str) -> dict[str, str] | None:
        from local_aws.iam.credentials import assume_role

        # Step Functions' own session name for a state machine's role is not documented.
        session = assume_role(self.endpoint_url, self.region, role_arn, "StepFunctions")
        return session.as_client_args() if session is not None else None

    def _invoke_in_process(
        self, params: dict[str, Any], trace_header: str | None, role_arn: str | None = None
    ):
        """The Step Functions interpreter's Lambda Invoke without the HTTP round trip.

        Same runtime call and API-call count as the HTTP path (`Gateway._invoke`); returns None,
        so that the interpreter's client sends the request over HTTP, when a fault rule is active
        (fault injection must see the call), for non-synchronous invocation types, and for any
        error the HTTP path turns into an API error (unknown function, bad payload).
        """
        if self.faults.active:
            return None
        if params.get("InvocationType", "RequestResponse") != "RequestResponse":
            return None
        path = f"/2015-03-31/functions/{params.get('FunctionName', '')}/invocations"
        if not self.iam.allows(role_arn, "lambda", "Invoke", params, path):
            return None  # the HTTP path answers with Lambda's AccessDeniedException
        try:
            result = self.lambdas.invoke(
                str(params.get("FunctionName", "")),
                params.get("Payload") or b"{}",
                trace_header=trace_header,
                client_context=params.get("ClientContext"),
                log_type=params.get("LogType"),
            )
        except (FunctionNotFound, ValueError):
            return None
        self.api_calls.count("lambda", "Invoke")
        headers = {
            "content-type": "application/json",
            "x-amzn-requestid": result.request_id,
            "x-amz-executed-version": "$LATEST",
        }
        response: dict[str, Any] = {
            "ResponseMetadata": {
                "HTTPStatusCode": result.status_code,
                "RequestId": result.request_id,
                "HTTPHeaders": headers,
            },
            "StatusCode": result.status_code,
            "ExecutedVersion": "$LATEST",
            "Payload": io.BytesIO(result.payload),
        }
        if result.function_error:
            response["FunctionError"] = result.function_error
        if result.log_tail:
            response["LogResult"] = result.log_tail
        return response

    def stop(self) -> None:
        moto_patches.set_lambda_invoker(None)
        moto_patches.set_role_credentials(None)
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.lambdas.shutdown()
        if self.xray is not None:
            self.xray.stop()

    def __enter__(self) -> LocalAWS:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Start (if needed) and block until interrupted."""
        self.start()
        assert self._thread is not None
        try:
            self._thread.join()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def client(self, service: str, **kwargs: Any):
        """A boto3 client for this endpoint, without client-side retries."""
        return clients.client(
            service,
            self.endpoint_url,
            region=self.region,
            retries={"max_attempts": 0, "mode": "standard"},
            **kwargs,
        )

"""LocalAWS: one local HTTP endpoint serving moto, with what moto lacks in front of it.

    with LocalAWS(port=0) as aws:            # port 0: pick a free port
        aws.lambdas.register(FunctionSpec("echo", Path("fn/echo")))
        sfn = aws.client("stepfunctions")     # inject_host_prefix=False already set
        ...

The WSGI front handles, before moto sees the request:
- apps mounted with `LocalAWS.mount()`: the X-Ray API (local_aws/xray.py) and the web console
  at `/_local_aws/console/` (local_aws/console/);
- `/_local_aws/...` control endpoints (health, faults, invocations, functions);
- fault injection (any service/operation, in that service's wire protocol);
- Lambda `Invoke` (run by `LambdaRuntime` in warm worker processes);
- Step Functions `StartSyncExecution` (which moto does not route) and `StartExecution`.
Everything else goes to moto's `DomainDispatcherApplication` untouched.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import socket
import threading
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

from werkzeug.serving import make_server
from werkzeug.wsgi import LimitedStream

from local_aws import moto_patches
from local_aws.errors import ApiError
from local_aws.faults import (
    TARGET_PREFIXES,
    FaultInjector,
    RequestInfo,
    error_response,
    identify_request,
)
from local_aws.lambda_runtime import FunctionNotFound, LambdaRuntime
from local_aws.stepfunctions import StepFunctionsFront

DEFAULT_PORT = 4577
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations/?$")
_SFN_TARGETS = {"AWSStepFunctions.StartSyncExecution", "AWSStepFunctions.StartExecution"}
# Lambda calls after which AWS runs new invocations in new execution environments.
_CODE_CHANGE_OPERATIONS = ("UpdateFunctionCode", "UpdateFunctionConfiguration")
_CODE_CHANGES = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/(code|configuration)/?$")
_JSON_10 = "application/x-amz-json-1.0"

LOG = logging.getLogger("local_aws")


Response = tuple[int, list[tuple[str, str]], bytes]


def _json_response(status: int, data: Any, content_type: str = "application/json") -> Response:
    return status, [("Content-Type", content_type)], json.dumps(data).encode("utf-8")


def _aws_json_error(error: ApiError) -> Response:
    body = {"__type": error.code, "message": error.message}
    return (
        error.status,
        [("Content-Type", _JSON_10), ("x-amzn-RequestId", str(uuid.uuid4()))],
        (json.dumps(body).encode("utf-8")),
    )


def _rest_json_error(error: ApiError) -> Response:
    headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-ErrorType", error.code),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]
    body = {"Type": "User", "message": error.message}
    return error.status, headers, json.dumps(body).encode("utf-8")


class _Front:
    """The WSGI application the server runs."""

    def __init__(self, aws: LocalAWS):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.aws = aws
        self.moto_app = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response):
        path = environ.get("PATH_INFO", "")
        mounted = self.aws.mounted_app(path)
        if mounted is not None:
            return mounted(environ, start_response)
        if path.startswith("/_local_aws/"):
            return self._send(start_response, self._control(environ, path))
        invoke = _INVOKE_PATH.match(path) if environ.get("REQUEST_METHOD") == "POST" else None
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        function = None
        body: bytes | None = None
        if invoke is not None:
            function = unquote(invoke.group("function")).split(":function:")[-1].split(":")[0]
            info = RequestInfo("lambda", "Invoke", "rest-json")
        elif target:
            prefix, _, operation = target.rpartition(".")
            service = TARGET_PREFIXES.get(prefix)
            info = (
                RequestInfo(service, operation, "json")
                if service
                else identify_request(environ, b"")
            )
        else:
            body = _read_body(environ)
            info = identify_request(environ, body)
        self.aws.api_calls.count(info.service, info.operation)

        if info.service == "lambda" and info.operation in _CODE_CHANGE_OPERATIONS:
            start_response = self._recycle_after(path, start_response)
        faults = self.aws.faults
        if invoke is None and target not in _SFN_TARGETS and not faults.active:
            return self.moto_app(environ, start_response)  # the hot path: straight to moto

        if body is None:
            body = _read_body(environ)
        lambda_fault = None
        if faults.active:
            if info.protocol == "json" and info.service is None:
                info = identify_request(environ, body)
            rule = faults.match(info.service or "", info.operation or "", function)
            if rule is not None:
                if rule.kind == "error":
                    return self._send(start_response, error_response(rule, info))
                lambda_fault = rule.kind
        try:
            if invoke is not None:
                response = self._invoke(
                    environ, unquote(invoke.group("function")), body, lambda_fault
                )
            elif target in _SFN_TARGETS:
                response = self._stepfunctions(target, body)
            else:
                return self.moto_app(environ, start_response)
        except ApiError as error:
            response = _rest_json_error(error) if invoke is not None else _aws_json_error(error)
        return self._send(start_response, response)

    def _recycle_after(self, path: str, start_response):
        """start_response that retires the function's warm workers once moto accepted the
        update, before the caller sees the answer (so its next Invoke cold-starts)."""
        match = _CODE_CHANGES.match(path)

        def recycling(status: str, headers, exc_info=None):
            if match and status.startswith("2"):
                name = unquote(match.group("function")).split(":function:")[-1].split(":")[0]
                with contextlib.suppress(FunctionNotFound):
                    self.aws.lambdas.recycle(name)
            return start_response(status, headers, exc_info)

        return recycling

    @staticmethod
    def _send(start_response, response: Response):
        status, headers, body = response
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        start_response(f"{status} {reason}", [*headers, ("Content-Length", str(len(body)))])
        return [body]

    # -- Lambda -------------------------------------------------------------------------------
    def _invoke(self, environ, function: str, body: bytes, fault: str | None) -> Response:
        runtime = self.aws.lambdas
        try:
            result = runtime.invoke(
                function,
                body,
                invocation_type=environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse"),
                trace_header=environ.get("HTTP_X_AMZN_TRACE_ID"),
                client_context=environ.get("HTTP_X_AMZ_CLIENT_CONTEXT"),
                log_type=environ.get("HTTP_X_AMZ_LOG_TYPE"),
                fault=fault,
            )
        except FunctionNotFound as exc:
            name = str(exc.args[0])
            arn = f"arn:aws:lambda:{self.aws.region}:{self.aws.account_id}:function:{name}"
            raise ApiError("ResourceNotFoundException", f"Function not found: {arn}", 404) from exc
        except ValueError as exc:
            raise ApiError(
                "InvalidRequestContentException",
                f"Could not parse request body into json: {exc}",
            ) from exc
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-RequestId", result.request_id),
            ("X-Amz-Executed-Version", "$LATEST"),
        ]
        if result.function_error:
            headers.append(("X-Amz-Function-Error", result.function_error))
        if result.log_tail:
            headers.append(("X-Amz-Log-Result", result.log_tail))
        if result.record is not None:
            headers.append(("X-Amzn-Trace-Id", result.record.trace_id))
        return result.status_code, headers, result.payload

    # -- Step Functions -----------------------------------------------------------------------
    def _stepfunctions(self, target: str, body: bytes) -> Response:
        try:
            params = json.loads(body or b"{}")
        except ValueError as exc:
            raise ApiError("SerializationException", str(exc)) from exc
        front = self.aws.stepfunctions
        if target.endswith(".StartSyncExecution"):
            data = front.start_sync_execution(params)
        else:
            data = front.start_execution(params)
        return _json_response(200, data, _JSON_10)

    # -- control plane ------------------------------------------------------------------------
    def _control(self, environ, path: str) -> Response:
        method = environ.get("REQUEST_METHOD", "GET")
        parts = path.strip("/").split("/")[1:]
        faults = self.aws.faults
        try:
            if parts == ["health"]:
                return _json_response(200, {"status": "ok", "endpoint": self.aws.endpoint_url})
            if parts == ["faults"] and method == "GET":
                return _json_response(200, {"rules": faults.stats()})
            if parts == ["faults"] and method == "POST":
                data = json.loads(_read_body(environ) or b"{}")
                items = data if isinstance(data, list) else data.get("rules", [data])
                rules = [faults.add_rule(item) for item in items]
                return _json_response(200, {"rules": [rule.to_dict() for rule in rules]})
            if parts == ["faults"] and method == "DELETE":
                faults.clear()
                return _json_response(200, {"rules": []})
            if len(parts) == 2 and parts[0] == "faults" and method == "DELETE":
                found = faults.remove(parts[1])
                return _json_response(200 if found else 404, {"removed": found})
            if parts == ["invocations"] and method == "GET":
                query = parse_qs(environ.get("QUERY_STRING", ""))
                wanted = query.get("function", [None])[0]
                records = [
                    record.to_dict()
                    for record in list(self.aws.lambdas.invocations)
                    if wanted in (None, record.function)
                ]
                return _json_response(200, {"invocations": records})
            if parts == ["api-calls"] and method == "GET":
                return _json_response(200, {"api_calls": self.aws.api_calls.snapshot()})
            if parts == ["functions"] and method == "GET":
                functions = {
                    name: {
                        "handler": spec.handler,
                        "code_dir": str(spec.code_dir),
                        "memory_mb": spec.memory_mb,
                        "timeout_s": spec.timeout_s,
                        "workers": self.aws.lambdas.worker_pids(name),
                    }
                    for name, spec in self.aws.lambdas.functions.items()
                }
                return _json_response(200, {"functions": functions})
        except (ValueError, TypeError) as exc:
            return _json_response(400, {"error": str(exc)})
        return _json_response(404, {"error": f"no such control endpoint: {method} {path}"})


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read a Content-Length body and put it back for moto; chunked bodies are left alone."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class ApiCallCounter:
    """Requests received, by service and operation (the interpreter's and the Lambdas' included)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def count(self, service: str | None, operation: str | None) -> None:
        key = (service or "unknown", operation or "unknown")
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        """{service: {operation: count}}"""
        result: dict[str, dict[str, int]] = {}
        with self._lock:
            for (service, operation), count in sorted(self._counts.items()):
                result.setdefault(service, {})[operation] = count
        return result

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class LocalAWS:
    """The embedded AWS: moto in server mode plus the local Lambda runtime, StartSyncExecution
    and fault injection, on one endpoint. One instance per process (moto's state is global)."""

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT,
        *,
        max_workers_per_function: int | None = None,
        fault_seed: int | None = None,
        verbose: bool = False,
    ):
        if port is None:
            port = int(os.environ.get("LOCAL_AWS_PORT", DEFAULT_PORT))
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
        self.api_calls = ApiCallCounter()
        # Extra WSGI apps served on this endpoint (see mount()): exact paths, and prefixes.
        self._mounts: dict[str, Any] = {}
        self._prefix_mounts: list[tuple[str, Any]] = []
        self.xray: Any = None  # local_aws.xray.LocalXRay, once started
        # As Step Functions Local does (README.md, "Mocked test cases").
        if os.environ.get("SFN_MOCK_CONFIG"):
            from local_aws import sfn_mock_config

            sfn_mock_config.install(self)
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
        handler = _QuietHandler if not self.verbose else _VerboseHandler
        self._server = make_server(
            self.host, self.port, _Front(self), threaded=True, request_handler=handler
        )
        self.port = self._server.server_port
        # moto (and its interpreter, were it not patched) calls itself back on MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        moto_patches.set_endpoint(self.endpoint_url)
        moto_patches.set_lambda_invoker(self._invoke_in_process)
        # Local X-Ray (daemon, segments, X-Ray API) and the web console at /_local_aws/console/.
        from local_aws import console, xray

        self.xray = xray.attach(self)
        console.attach(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-aws-server", daemon=True
        )
        self._thread.start()
        return self

    def _invoke_in_process(self, params: dict[str, Any], trace_header: str | None):
        """The Step Functions interpreter's Lambda Invoke without the HTTP round trip.

        Same runtime call and API-call count as the HTTP path (`_Front._invoke`); returns None,
        so that the interpreter's client sends the request over HTTP, when a fault rule is active
        (fault injection must see the call), for non-synchronous invocation types, and for any
        error the HTTP path turns into an API error (unknown function, bad payload).
        """
        if self.faults.active:
            return None
        if params.get("InvocationType", "RequestResponse") != "RequestResponse":
            return None
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
        response: dict[str, Any] = {
            "ResponseMetadata": {"HTTPStatusCode": result.status_code},
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
        """A boto3 client for this endpoint (inject_host_prefix=False, for StartSyncExecution)."""
        import boto3
        from botocore.config import Config

        config = Config(inject_host_prefix=False, retries={"max_attempts": 0, "mode": "standard"})
        if "config" in kwargs:
            config = config.merge(kwargs.pop("config"))
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=config,
            **kwargs,
        )


from moto.moto_server.werkzeug_app import MotoRequestHandler  # noqa: E402


class _VerboseHandler(MotoRequestHandler):
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


class _QuietHandler(_VerboseHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            super().log(type, message, *args)

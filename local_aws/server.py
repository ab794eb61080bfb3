"""LocalAWS: one local HTTP endpoint serving moto, with what moto lacks in front of it.

    with LocalAWS(port=0) as aws:            # port 0: pick a free port
        aws.lambdas.register(FunctionSpec("echo", Path("fn/echo")))
        sfn = aws.client("stepfunctions")     # inject_host_prefix=False already set
        ...

The WSGI front handles, before moto sees the request:
- `/_local_aws/...` control endpoints (health, faults, invocations, functions);
- fault injection (any service/operation, in that service's wire protocol);
- Lambda `Invoke` (run by `LambdaRuntime` in warm worker processes);
- Step Functions `StartSyncExecution` (which moto does not route) and `StartExecution`.
Everything else goes to moto's `DomainDispatcherApplication` untouched.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import logging
import math
import os
import re
import threading
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

from werkzeug.serving import make_server

from local_aws import moto_patches
from local_aws.faults import FaultInjector, RequestInfo, error_response, identify_request
from local_aws.lambda_runtime import FunctionNotFound, LambdaRuntime, new_root_trace_header

DEFAULT_PORT = 4577
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations/?$")
_SFN_TARGETS = {"AWSStepFunctions.StartSyncExecution", "AWSStepFunctions.StartExecution"}
_JSON_10 = "application/x-amz-json-1.0"

LOG = logging.getLogger("local_aws")


class ApiError(Exception):
    """An AWS error answered by the front itself (awsJson or rest-json)."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


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


def _epoch(value: dt.datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


class StepFunctionsFront:
    """StartSyncExecution / StartExecution on moto's Step Functions interpreter backend."""

    def __init__(self, account_id: str, region: str):
        self.account_id = account_id
        self.region = region

    @property
    def backend(self):
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        return stepfunctions_parser_backends[self.account_id][self.region]

    def _start(self, params: dict[str, Any], sync: bool):
        from moto.stepfunctions.parser.api import StateMachineType
        from moto.stepfunctions.parser.backend.execution import Execution, SyncExecution

        arn = params.get("stateMachineArn")
        if not arn:
            raise ApiError("ValidationException", "stateMachineArn is required")
        base_arn = arn.split("#", 1)[0]
        backend = self.backend
        state_machine = _call_moto(backend.describe_state_machine, base_arn)
        if sync and state_machine.type != "EXPRESS":
            raise ApiError(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            )
        name = params.get("name") or str(uuid.uuid4())
        raw_input = params.get("input")
        raw_input = "{}" if raw_input is None else raw_input
        try:
            json.loads(raw_input)
        except ValueError as exc:
            raise ApiError(
                "InvalidExecutionInput", f"Invalid State Machine Execution Input: '{exc}'"
            ) from exc
        existing = _call_moto(state_machine._handle_name_input_idempotency, name, raw_input)
        if existing is not None and not sync:
            return existing
        if existing is not None:
            raise ApiError(
                "ExecutionAlreadyExists", f"Execution Already Exists: '{existing.exec_arn}'"
            )
        trace_header = params.get("traceHeader") or new_root_trace_header()
        # A snapshot of the definition for this execution, as moto's own start_execution does:
        # the live executions (threads, locks) and the backend are shared, not deep-copied.
        clone = copy.deepcopy(
            state_machine,
            {id(state_machine.executions): [], id(state_machine.backend): state_machine.backend},
        )
        execution_arn = (
            f"arn:aws:states:{self.region}:{self.account_id}:execution:{state_machine.name}:{name}"
        )
        cls = SyncExecution if sync else Execution
        execution = cls(
            name=name,
            sm_type=StateMachineType(state_machine.type),
            role_arn=clone.roleArn,
            exec_arn=execution_arn,
            account_id=self.account_id,
            region_name=self.region,
            state_machine=clone,
            start_date=dt.datetime.now(tz=dt.UTC),
            cloud_watch_logging_session=None,
            input_data=raw_input,
            trace_header=trace_header,
            activity_store={},
        )
        state_machine.executions.append(execution)
        return execution

    def start_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        execution = self._start(params, sync=False)
        if execution.exec_worker is None:
            execution.start()
        return {"executionArn": execution.exec_arn, "startDate": _epoch(execution.start_date)}

    def start_sync_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        from moto.stepfunctions.parser.api import ExecutionStatus

        execution = self._start(params, sync=True)
        # SyncExecutionWorker runs the program in this thread: when start() returns the
        # execution has terminated. No polling, no sleeping.
        try:
            execution.start()
        except Exception as exc:  # the interpreter itself failed: report, don't hang
            LOG.exception("state machine execution %s crashed", execution.exec_arn)
            execution.exec_status = ExecutionStatus.FAILED
            execution.stop_date = dt.datetime.now(tz=dt.UTC)
            execution.error = "States.Runtime"
            execution.cause = f"{type(exc).__name__}: {exc}"
        status = execution.exec_status
        sync_status = {
            ExecutionStatus.SUCCEEDED: "SUCCEEDED",
            ExecutionStatus.TIMED_OUT: "TIMED_OUT",
        }.get(status, "FAILED")
        stop = execution.stop_date or dt.datetime.now(tz=dt.UTC)
        duration_ms = max((stop - execution.start_date).total_seconds() * 1000, 0)
        response: dict[str, Any] = {
            "executionArn": execution.exec_arn,
            "stateMachineArn": execution.state_machine.arn,
            "name": execution.name,
            "startDate": _epoch(execution.start_date),
            "stopDate": _epoch(stop),
            "status": sync_status,
            "input": json.dumps(execution.input_data, separators=(",", ":")),
            "inputDetails": {"included": True},
            "traceHeader": execution.trace_header,
            "billingDetails": {
                "billedMemoryUsedInMB": 64,
                "billedDurationInMilliseconds": max(100, math.ceil(duration_ms / 100) * 100),
            },
        }
        if sync_status == "SUCCEEDED":
            response["output"] = json.dumps(execution.output, separators=(",", ":"))
            response["outputDetails"] = {"included": True}
        if execution.error is not None:
            response["error"] = execution.error
        if execution.cause is not None:
            response["cause"] = execution.cause
        return response


def _call_moto(function, *args):
    """Call a moto backend method, turning its exceptions into ApiError."""
    try:
        return function(*args)
    except ApiError:
        raise
    except Exception as exc:
        code = getattr(exc, "error_type", None) or getattr(exc, "code", None)
        if not isinstance(code, str):
            raise
        message = getattr(exc, "message", None) or str(exc)
        status = getattr(exc, "status_code", None) or 400
        raise ApiError(code.split("#")[-1], message, int(status)) from exc


class _Front:
    """The WSGI application the server runs."""

    def __init__(self, aws: LocalAWS):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.aws = aws
        self.moto_app = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_local_aws/"):
            return self._send(start_response, self._control(environ, path))
        invoke = _INVOKE_PATH.match(path) if environ.get("REQUEST_METHOD") == "POST" else None
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        faults = self.aws.faults
        if invoke is None and target not in _SFN_TARGETS and not faults.active:
            return self.moto_app(environ, start_response)  # the hot path: straight to moto

        body = _read_body(environ)
        lambda_fault = None
        if faults.active:
            function = None
            if invoke is not None:
                function = unquote(invoke.group("function")).split(":function:")[-1].split(":")[0]
                info = RequestInfo("lambda", "Invoke", "rest-json")
            else:
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
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


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
        self._server = None
        self._thread: threading.Thread | None = None

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
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-aws-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.lambdas.shutdown()

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
    pass


class _QuietHandler(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            super().log(type, message, *args)

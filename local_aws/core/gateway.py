"""The endpoint's WSGI front: what local_aws answers itself, and dispatch to moto.

Before moto sees a request, the gateway handles:
- apps mounted with `LocalAWS.mount()` (e.g. the X-Ray API, local_aws/xray/api.py);
- `/_local_aws/...` control endpoints (health, faults, invocations, api-calls, functions);
- IAM: a request signed with a role's credentials is authorised first (local_aws/iam/);
- fault injection (any service/operation, in that service's wire protocol);
- Lambda `Invoke` (run by the local Lambda runtime in warm worker processes);
- Step Functions `StartSyncExecution` (which moto does not route), `StartExecution` and
  `TestState` (local_aws/stepfunctions/).
Everything else goes to moto's `DomainDispatcherApplication` untouched.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

from local_aws.awslambda.runtime import FunctionNotFound
from local_aws.core.errors import ApiError, Response, api_error_response
from local_aws.core.requests import TARGET_PREFIXES, RequestInfo, identify_request
from local_aws.faults import fault_response
from local_aws.stepfunctions.executions import StepFunctionsFront

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations/?$")
_SFN_TARGETS = {f"AWSStepFunctions.{op}" for op in StepFunctionsFront.OPERATIONS}
# Lambda calls after which AWS runs new invocations in new execution environments.
_CODE_CHANGE_OPERATIONS = ("UpdateFunctionCode", "UpdateFunctionConfiguration")
_CODE_CHANGES = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/(code|configuration)/?$")
_JSON_10 = "application/x-amz-json-1.0"


def _json_response(status: int, data: Any, content_type: str = "application/json") -> Response:
    return status, [("Content-Type", content_type)], json.dumps(data).encode("utf-8")


class Gateway:
    """The WSGI application the server runs."""

    def __init__(self, aws: Any):
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
        denied = self.aws.iam.check(environ, info, _read_body)  # role credentials: IAM first
        if denied is not None:
            return self._send(start_response, denied)
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
                    return self._send(start_response, fault_response(rule, info))
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
            response = api_error_response(error, info)
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
            # Lambda names the version it looked for: unqualified means $LATEST
            qualifier = "" if ":" in name else ":$LATEST"
            arn = (
                f"arn:aws:lambda:{self.aws.region}:{self.aws.account_id}:function:{name}{qualifier}"
            )
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
        data = self.aws.stepfunctions.handle(target.rpartition(".")[2], params)
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

"""The changes local_aws makes to moto's code at run time (installed by `apply()`).

Each patch says why it exists. They replace moto functions and methods, so each one is a place
where a moto upgrade can change behaviour under us:
- Step Functions interpreter: `boto_client_for` is replaced (one cached client per service,
  pointed at this endpoint; Lambda Invoke answered in process), the Lambda integration is wrapped
  to pass the execution's X-Ray trace header, and jsonpath_ng's `parse` is memoised.
- SQS: `local_aws/sqs/` (installed from here) patches moto's SQS model and responses so that
  the queues behave and answer as AWS documents (docs/sqs.md); each patch has its tests there.
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import Any

import boto3
from botocore.config import Config
from moto.core.config import default_user_config

from local_aws import sqs

_applied = False
_lock = threading.Lock()
_endpoint_url: str | None = None
_clients: dict[tuple[str, str], Any] = {}
_session: boto3.session.Session | None = None


def set_endpoint(endpoint_url: str) -> None:
    """The endpoint the interpreter's service integrations call (our own front door)."""
    global _endpoint_url
    with _lock:
        _endpoint_url = endpoint_url
        _clients.clear()


# The X-Ray trace header of the execution whose Task is calling Lambda in this thread.
_task_trace = threading.local()
_execution_traces: dict[str, str] = {}


def register_execution_trace(execution_arn: str, trace_header: str | None) -> None:
    """Remember an execution's trace header, so its Lambda invocations join its trace."""
    if trace_header:
        _execution_traces[execution_arn] = trace_header


# Set by LocalAWS: runs a Lambda Invoke in process; returns None to take the HTTP path instead.
_lambda_invoker: Any = None


def set_lambda_invoker(invoker: Any) -> None:
    """`invoker(params, trace_header)` -> an Invoke response dict, or None (use HTTP)."""
    global _lambda_invoker
    _lambda_invoker = invoker


class _InProcessLambdaClient:
    """The interpreter's Lambda client: Invoke straight to the local runtime when it can.

    Why: every Task state of the workflow is a Lambda Invoke; through HTTP each one costs a
    botocore request (serialize, sign, send, parse) and a server round trip in this same process,
    a few ms of CPU per state. LocalAWS answers in process (same runtime call, same API-call
    count, same trace header) unless a fault rule is active, then the HTTP path runs as before so
    fault injection sees every call. Every other method is the real client's.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def invoke(self, **params: Any) -> Any:
        invoker = _lambda_invoker
        if invoker is not None:
            response = invoker(params, getattr(_task_trace, "header", None))
            if response is not None:
                return response
        return self._client.invoke(**params)


def _add_trace_header(request: Any, **_: Any) -> None:
    header = getattr(_task_trace, "header", None)
    if header:
        request.headers["X-Amzn-Trace-Id"] = header


def _traced(original: Any) -> Any:
    """Wrap lambda_eval_utils.execute_lambda_function_integration.

    Why: with tracing on, Step Functions passes the execution's trace to the Lambdas it invokes
    (one trace per execution). moto's interpreter sends no trace header; this sets the calling
    execution's header for the duration of the (synchronous, same-thread) invoke, and the cached
    Lambda client adds it as X-Amzn-Trace-Id.
    """

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        env = kwargs.get("env", args[0] if args else None)
        try:
            execution_id = env.states.context_object.context_object_data["Execution"]["Id"]
        except (AttributeError, KeyError, TypeError):
            execution_id = None
        previous = getattr(_task_trace, "header", None)
        _task_trace.header = _execution_traces.get(execution_id)
        try:
            return original(*args, **kwargs)
        finally:
            _task_trace.header = previous

    return wrapper


def _boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """Replacement of moto.stepfunctions.parser.asl.utils.boto_client.boto_client_for.

    Why: the original builds a brand-new boto3 client for every Task state (tens of milliseconds
    of model loading each, several times per message) and derives the endpoint from the global
    MOTO_PORT. Clients are thread-safe, so one cached client per (region, service) pointed at our
    endpoint is equivalent and much faster. Same config as the original: no retries (the ASL's
    Retry decides), no client-side validation, effectively no read timeout.
    """
    key = (region, service)
    client = _clients.get(key)
    if client is not None:
        return client
    global _session
    with _lock:
        client = _clients.get(key)
        if client is None:
            from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import (
                TimeoutSeconds,
            )

            if _session is None:
                _session = boto3.session.Session()
            client = _session.client(
                service_name=service,
                region_name=region,
                endpoint_url=_endpoint_url,
                aws_access_key_id="ak",
                aws_secret_access_key="sk",
                config=Config(
                    parameter_validation=False,
                    retries={"max_attempts": 0, "total_max_attempts": 1},
                    connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    max_pool_connections=64,
                    inject_host_prefix=False,
                ),
            )
            if service == "lambda":
                client.meta.events.register("before-sign.lambda.Invoke", _add_trace_header)
                client = _InProcessLambdaClient(client)
            _clients[key] = client
    return client


def _cached_jsonpath_parsers() -> None:
    """Cache parsed JSONPath expressions in the Step Functions interpreter.

    Why: the interpreter calls jsonpath_ng's `parse()` (a PLY grammar, pure Python, ~1 ms) on
    every path evaluation: InputPath, Parameters `.$` keys, ResultSelector, ResultPath, Choice
    variables, several per state. The expressions are the definition's few constant strings, and
    a parsed expression is only read by `find()`/`update_or_create()` (they change the data, not
    the expression), so sharing one parse per string gives the same results.
    """
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):
        if not hasattr(module.parse, "cache_info"):
            module.parse = functools.lru_cache(maxsize=4096)(module.parse)


def apply() -> None:
    """Turn on state machine execution and install the patches (idempotent)."""
    global _applied
    # Why: moto only runs the ASL (its LocalStack-derived interpreter) when asked to.
    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    if _applied:
        return
    with _lock:
        if _applied:
            return
        # Import the interpreter so that every module holding `boto_client_for` is loaded.
        import moto.stepfunctions.parser.asl.parse.asl_parser  # noqa: F401
        import moto.stepfunctions.parser.asl.utils.boto_client as boto_client_module

        original = boto_client_module.boto_client_for
        boto_client_module.boto_client_for = _boto_client_for  # for modules imported later
        for name, module in list(sys.modules.items()):
            if name.startswith("moto.stepfunctions.parser") and (
                getattr(module, "boto_client_for", None) is original
            ):
                module.boto_client_for = _boto_client_for
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
            lambda_eval_utils,
        )

        lambda_eval_utils.execute_lambda_function_integration = _traced(
            lambda_eval_utils.execute_lambda_function_integration
        )
        _cached_jsonpath_parsers()
        sqs.install()  # local_aws/sqs: SQS as AWS documents it
        _applied = True

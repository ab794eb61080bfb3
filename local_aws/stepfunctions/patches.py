"""local_aws's changes to moto's Step Functions interpreter (moto/stepfunctions/parser).

Each patch is minimal and says why it exists; tests/local_aws/stepfunctions/test_patches.py has a
test per patch that fails when moto's behaviour changes under it. These patches point the
interpreter's service integrations at our endpoint, efficiently and with the execution's trace.
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import Any

from moto.core.config import default_user_config

from local_aws import clients

_applied = False
_lock = threading.Lock()
_endpoint_url: str | None = None
_clients: dict[tuple[str, str, str | None], Any] = {}
_moto_boto_client_for: Any = None  # the function `_boto_client_for` replaces (for its test)


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
    """`invoker(params, trace_header, role_arn)` -> an Invoke response dict, or None (use HTTP)."""
    global _lambda_invoker
    _lambda_invoker = invoker


# Set by LocalAWS when IAM is enforced: role ARN -> boto3 credential arguments of a session of it.
_role_credentials: Any = None


def set_role_credentials(provider: Any) -> None:
    """`provider(role_arn)` -> client credential kwargs (None for a role IAM does not know);
    no provider: the interpreter's fixed keys."""
    global _role_credentials
    with _lock:
        _role_credentials = provider
        _clients.clear()


# The ResponseMetadata of the last call the interpreter's Lambda or SQS client made in this thread
# (see `_sdk_metadata`): moto's integrations drop it, AWS returns it as SdkHttpMetadata.
_last_response = threading.local()


class _MetadataKeepingClient:
    """The interpreter's client for a service whose integration results carry SDK metadata."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("_") or name in ("can_paginate", "close"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            response = attribute(*args, **kwargs)
            if isinstance(response, dict):
                _last_response.metadata = response.get("ResponseMetadata")
            return response

        return call


class _InProcessLambdaClient:
    """The interpreter's Lambda client: Invoke straight to the local runtime when it can.

    Why: every Task state of the workflow is a Lambda Invoke; through HTTP each one costs a
    botocore request (serialize, sign, send, parse) and a server round trip in this same process,
    a few ms of CPU per state. LocalAWS answers in process (same runtime call, same API-call
    count, same trace header) unless a fault rule is active, then the HTTP path runs as before so
    fault injection sees every call. Every other method is the real client's.
    """

    def __init__(self, client: Any, role_arn: str | None) -> None:
        self._client = client
        self._role_arn = role_arn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def invoke(self, **params: Any) -> Any:
        invoker = _lambda_invoker
        response = None
        if invoker is not None:
            response = invoker(params, getattr(_task_trace, "header", None), self._role_arn)
        if response is None:
            response = self._client.invoke(**params)
        _last_response.metadata = response.get("ResponseMetadata")
        return response


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
    MOTO_PORT. Clients are thread-safe, so one cached client per (region, service, role) pointed
    at our endpoint is equivalent and much faster. Same config as the original: no retries (the
    ASL's Retry decides), no client-side validation, effectively no read timeout. With IAM
    enforced the client signs with a session of the state machine's role
    (`state_credentials.role_arn`), as Step Functions' integrations do; the original ignores it.
    """
    role_arn = getattr(state_credentials, "role_arn", None) if _role_credentials else None
    key = (region, service, role_arn)
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is None:
            from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import (
                TimeoutSeconds,
            )

            role_keys = _role_credentials(role_arn) if role_arn else None
            client = clients.client(
                service,
                _endpoint_url,
                region=region,
                credentials=role_keys,
                parameter_validation=False,
                retries={"max_attempts": 0, "total_max_attempts": 1},
                connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                max_pool_connections=64,
            )
            if service == "lambda":
                client.meta.events.register("before-sign.lambda.Invoke", _add_trace_header)
                client = _InProcessLambdaClient(client, role_arn if role_keys else None)
            elif service == "sqs":
                client = _MetadataKeepingClient(client)
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


def _jsonata_evaluator() -> None:
    """Give the interpreter a JSONata engine.

    Why: moto's interpreter (ported from LocalStack) evaluates JSONata through a JVM bridge it
    does not ship: its `_eval_jsonata` stays None and every JSONata expression fails the state
    with States.Runtime. jsonata-python is a port of the jsonata-java engine that bridge runs;
    its results are turned into plain JSON values, as the bridge does.
    """
    import json

    import jsonata
    from moto.stepfunctions.parser.asl.jsonata import jsonata as module

    def evaluate(expression: str) -> Any:
        try:
            return json.loads(json.dumps(jsonata.Jsonata(expression).evaluate(None)))
        except Exception as exc:
            raise module.JSONataException("UNKNOWN", str(exc)) from exc

    if module._eval_jsonata is None:
        module._eval_jsonata = evaluate


def _sdk_metadata(metadata: dict | None) -> dict:
    """AWS's SdkHttpMetadata / SdkResponseMetadata of a service integration result, from the
    SDK's ResponseMetadata (botocore lower-cases header names; AWS keeps the sender's case for
    the few it names, restored here)."""
    metadata = metadata or {}
    headers = {_HEADER_CASE.get(k, k): v for k, v in (metadata.get("HTTPHeaders") or {}).items()}
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {name: [value] for name, value in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": metadata.get("HTTPStatusCode", 200),
        },
        "SdkResponseMetadata": {"RequestId": metadata.get("RequestId", "")},
    }


_HEADER_CASE = {
    "content-type": "Content-Type",
    "content-length": "Content-Length",
    "date": "Date",
    "connection": "Connection",
    "x-amzn-requestid": "x-amzn-RequestId",
    "x-amz-executed-version": "X-Amz-Executed-Version",
    "x-amzn-trace-id": "X-Amzn-Trace-Id",
    "x-amz-function-error": "X-Amz-Function-Error",
}


def _integration_results_with_sdk_metadata() -> None:
    """Add SdkHttpMetadata and SdkResponseMetadata to `lambda:invoke` and `sqs:*` results.

    Why: AWS's optimised Lambda and SQS integrations return them (next to StatusCode, Payload /
    MessageId ...); moto's integrations drop the SDK's ResponseMetadata.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_lambda,
        state_task_service_sqs,
    )

    for cls in (
        state_task_service_lambda.StateTaskServiceLambda,
        state_task_service_sqs.StateTaskServiceSqs,
    ):
        original = cls._eval_service_task

        def with_metadata(self, env, *args, _original=original, **kwargs):
            _last_response.metadata = None
            _original(self, env, *args, **kwargs)
            if isinstance(env.stack[-1], dict):
                env.stack[-1].update(_sdk_metadata(_last_response.metadata))

        cls._eval_service_task = with_metadata


def _sqs_errors_as_aws_names_them() -> None:
    """`arn:aws:states:::sqs:*` errors: SQS.AmazonSQSException with the Java SDK's cause.

    Why: for an error answer of SQS, AWS records `SQS.AmazonSQSException` and a cause of the
    form `<message> (Service: AmazonSQS; Status Code: 400; Error Code: <code>; Request ID:
    <id>; Proxy: null)`; moto names every such error SQS.SdkClientException (the name AWS keeps
    for client-side failures) with the bare message.
    """
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_sqs as module,
    )

    original = module.StateTaskServiceSqs._from_error

    def from_error(self, env, ex):
        event = original(self, env, ex)
        if isinstance(ex, ClientError):
            error = ex.response.get("Error", {})
            metadata = ex.response.get("ResponseMetadata", {})
            details = event.event_details["taskFailedEventDetails"]
            details["error"] = module._ERROR_NAME_AWS
            details["cause"] = (
                f"{error.get('Message', '')} (Service: AmazonSQS; Status Code: "
                f"{metadata.get('HTTPStatusCode', 400)}; Error Code: {error.get('Code', '')}; "
                f"Request ID: {metadata.get('RequestId', '')}; Proxy: null)"
            )
            event.error_name = module.CustomErrorName(module._ERROR_NAME_AWS)
        return event

    module.StateTaskServiceSqs._from_error = from_error


def _sqs_send_message_requires_a_body() -> None:
    """SendMessage without MessageBody: 400 MissingParameter, as SQS answers.

    Why: moto reads the missing body as None and fails with an HTTP 500. (An SQS endpoint patch:
    it moves to the SQS patches' module when that exists.)
    """
    from moto.sqs import exceptions, responses

    original = responses.SQSResponse.send_message
    if getattr(original, "_local_aws", False):
        return

    def send_message(self):
        if self._get_param("MessageBody") is None:
            raise exceptions.MissingParameter("MessageBody")
        return original(self)

    send_message._local_aws = True
    responses.SQSResponse.send_message = send_message


def _lambda_error_payload_as_written() -> None:
    """A failed Lambda Task's cause is the function's error payload exactly as it was returned.

    Why: moto parses the payload and re-serialises it compactly (`separators=(",", ":")`); AWS
    passes the text the runtime wrote. Same call, same parsing of a successful payload.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    def invoke(parameters: dict, region: str, state_credentials: Any) -> dict:
        client = lambda_eval_utils.boto_client_for(
            service="lambda", region=region, state_credentials=state_credentials
        )
        response = client.invoke(**parameters)
        raw = response["Payload"].read()
        if response.get("FunctionError"):
            raise lambda_eval_utils.LambdaFunctionErrorException(
                response["FunctionError"], raw.decode("utf-8", errors="replace")
            )
        import io

        response["Payload"] = lambda_eval_utils._from_payload(io.BytesIO(raw))
        return response

    lambda_eval_utils._invoke_lambda_function = invoke


def _aws_context_timestamps() -> None:
    """`$$.State.EnteredTime` in AWS's form (`2019-03-26T20:14:13.192Z`).

    Why: moto writes `datetime.isoformat()` (`...13.192345+00:00`). The interpreter builds each
    state's context entry with `StateData(...)`; this wraps that constructor in its module.
    """
    from moto.stepfunctions.parser.asl.component.state import state as module

    original = module.StateData
    if getattr(original, "_local_aws", False):
        return

    def state_data(**fields: Any) -> Any:
        entered = fields.get("EnteredTime")
        if isinstance(entered, str):
            fields["EnteredTime"] = aws_timestamp(entered)
        return original(**fields)

    state_data._local_aws = True
    module.StateData = state_data


def aws_timestamp(value: Any) -> str:
    """A datetime (or ISO 8601 string) as Step Functions writes context-object times."""
    import datetime as dt

    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _describe_execution_with_redrive_fields() -> None:
    """DescribeExecution of a standard execution: inputDetails, redriveCount, redriveStatus.

    Why: AWS returns them (API_DescribeExecution); moto's response lacks them. No execution is
    ever redriven locally (RedriveExecution is not offered), so the count is 0 and a FAILED,
    TIMED_OUT or ABORTED execution is REDRIVABLE, any other NOT_REDRIVABLE.
    """
    from moto.stepfunctions import responses

    original = responses.StepFunctionResponse.describe_execution
    if getattr(original, "_local_aws", False):
        return

    def describe_execution(self):
        result = original(self)
        body = getattr(result, "result", None)
        if not isinstance(body, dict):
            return result
        body["inputDetails"] = {"included": True}
        execution = self.stepfunction_backend.describe_execution(body["executionArn"])
        if getattr(execution, "sm_type", "STANDARD") == "STANDARD":
            status = str(body.get("status", ""))
            redrivable = status in ("FAILED", "TIMED_OUT", "ABORTED")
            body["redriveCount"] = 0
            body["redriveStatus"] = "REDRIVABLE" if redrivable else "NOT_REDRIVABLE"
            if not redrivable:
                body["redriveStatusReason"] = f"Execution is {status} and cannot be redriven"
        return result

    describe_execution._local_aws = True
    responses.StepFunctionResponse.describe_execution = describe_execution


def _express_execution_arns() -> None:
    """Accept Express execution ARNs (`...:express:<machine>:<name>:<id>`) where moto looks an
    execution up (DescribeExecution, GetExecutionHistory, StopExecution).

    Why: AWS gives Express executions that form; moto's ARN check allows `:execution:` only.
    Its lookup takes the machine name from the sixth field, the same in both forms.
    """
    import re

    from moto.stepfunctions import models

    pattern = models.StepFunctionBackend.accepted_exec_arn_format.pattern
    if ":(execution|express):" not in pattern:
        models.StepFunctionBackend.accepted_exec_arn_format = re.compile(
            pattern.replace(":execution:", ":(execution|express):")
        )


def _definitions_parsed_once() -> None:
    """CreateStateMachine/UpdateStateMachine validate with the executions' parse cache, and
    moto's own execution workers start from a private copy of that parse.

    Why: moto validates a definition by parsing it (ANTLR, pure Python: ~0.1-0.2 s for the
    pipeline's ASL) and drops the result; each execution then parses it again. The same string
    gives the same parse, and a definition that fails raises here exactly as before: the same
    exceptions, turned into the same InvalidDefinition messages by moto's own code. Executions
    started through StepFunctionsFront already take their copy (`executions._Tracked`); this
    covers the others (moto's `mock_aws` in a test process): one parse per definition, then a
    deep copy per execution, as `executions.fresh_program` explains.
    """
    from moto.stepfunctions.parser import models
    from moto.stepfunctions.parser.asl.parse import asl_parser
    from moto.stepfunctions.parser.backend import execution_worker

    from local_aws.stepfunctions.executions import fresh_program, parsed_program

    class _CachedParser:
        @staticmethod
        def parse(definition: str):
            return (parsed_program(definition),)

    # _validate_definition looks the parser up in models' globals at each call.
    if models.AmazonStateLanguageParser is asl_parser.AmazonStateLanguageParser:
        models.AmazonStateLanguageParser = _CachedParser

    def _get_evaluation_entrypoint(self):
        return fresh_program(self._evaluation_details.state_machine_details.definition)

    execution_worker.ExecutionWorker._get_evaluation_entrypoint = _get_evaluation_entrypoint


def _parser_errors_with_their_names() -> None:
    """The errors of moto's Step Functions parser API answer with their AWS names.

    Why: they are written LocalStack's way (`code = "InvalidDefinition"`, `status_code = 400`) on
    moto's AWSError, which names the error from `TYPE`: CreateStateMachine with a definition that
    does not parse answered 400 with an empty error code (`UnknownError`) instead of AWS's
    InvalidDefinition (API reference, CreateStateMachine, Errors).
    """
    from moto.stepfunctions.parser import api

    for error in vars(api).values():
        if (
            isinstance(error, type)
            and issubclass(error, api.ServiceException)
            and isinstance(getattr(error, "code", None), str)
            and error.TYPE is None
        ):
            error.TYPE = error.code
            error.STATUS = getattr(error, "status_code", error.STATUS)


def _sfn_local_task_names() -> None:
    """`aws-sdk:` Task events as AWS names them, or as Step Functions Local does (the switch).

    AWS: resourceType `aws-sdk:<service>`, resource `<action>` (moto's naming too); Step
    Functions Local: resourceType `aws-sdk`, resource `<service>:<action>`, which suites written
    for the image assert on. The setting is read at each event (a test can switch it).
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as module,
    )

    from local_aws.config import sfn_local_compat

    cls = module.StateTaskServiceAwsSdk
    if getattr(cls._get_sfn_resource, "_local_aws", False):
        return
    resource, resource_type = cls._get_sfn_resource, cls._get_sfn_resource_type

    def sfn_resource(self):
        if sfn_local_compat():
            return f"{self.resource.api_name}:{resource(self)}"
        return resource(self)

    def sfn_resource_type(self):
        return self.resource.service_name if sfn_local_compat() else resource_type(self)

    sfn_resource._local_aws = True
    cls._get_sfn_resource, cls._get_sfn_resource_type = sfn_resource, sfn_resource_type


def apply() -> None:
    """Turn on state machine execution and install the interpreter patches (idempotent)."""
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

        global _moto_boto_client_for
        original = _moto_boto_client_for = boto_client_module.boto_client_for
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
        _jsonata_evaluator()
        _integration_results_with_sdk_metadata()
        _sqs_errors_as_aws_names_them()
        _sqs_send_message_requires_a_body()
        _lambda_error_payload_as_written()
        _aws_context_timestamps()
        _describe_execution_with_redrive_fields()
        _express_execution_arns()
        _sfn_local_task_names()
        _definitions_parsed_once()
        _parser_errors_with_their_names()
        _applied = True

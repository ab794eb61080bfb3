"""StartExecution / StartSyncExecution on moto's Step Functions interpreter.

moto does not route StartSyncExecution (the SDK sends it to the `sync-` host prefix; local clients
must use `Config(inject_host_prefix=False)`). We answer it, and StartExecution, by creating the
interpreter's own Execution objects in moto's backend, so DescribeExecution, ListExecutions and
GetExecutionHistory keep working for them, Express machines included (AWS keeps no history for
Express executions; locally we keep it, because tests and inspection read the state path from it).

A sync execution runs the ASL program in the request's own thread (moto's SyncExecutionWorker):
when `start()` returns, it has terminated. Async executions signal a `threading.Event` when they
terminate, so `wait()` never polls.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from moto.stepfunctions.parser.api import ExecutionStatus, StateMachineType
from moto.stepfunctions.parser.backend.execution import Execution, SyncExecution

from local_aws.core.errors import ApiError
from local_aws.stepfunctions import patches
from local_aws.stepfunctions.test_state import test_state
from local_aws.xray.trace_header import child_header, new_root_header

LOG = logging.getLogger("local_aws.stepfunctions")

# (state machine name, test case name) -> moto MockTestCase, or None (no mock config)
MockResolver = Callable[[str, str], Any]


def _logging_session(state_machine: Any, execution_arn: str) -> Any:
    """Execution logs to the state machine's log group, at its level and with its
    includeExecutionData (the template's `Logging`), as AWS writes them; None when OFF."""
    from moto.stepfunctions.parser.asl.eval.event.logging import CloudWatchLoggingConfiguration

    config = getattr(state_machine, "loggingConfiguration", None) or {}
    try:
        configuration = CloudWatchLoggingConfiguration.from_logging_configuration(
            state_machine_arn=state_machine.arn,
            logging_configuration={"includeExecutionData": False, **config},
        )
    except (KeyError, TypeError, ValueError) as exc:
        LOG.warning("execution logging not configured for %s: %s", state_machine.arn, exc)
        return None
    return None if configuration is None else _ExecutionLogSession(execution_arn, configuration)


_execution_log_lock = threading.Lock()  # moto's log streams are not thread-safe


def _execution_log_session_class():
    from moto.stepfunctions.parser.asl.eval.event.logging import CloudWatchLoggingSession

    class ExecutionLogSession(CloudWatchLoggingSession):
        """moto's session builds its log events wrongly (it passes the history log itself, whose
        timestamp is a string, as the event): write each history log as one JSON line, as AWS
        does, and never let logging break an execution."""

        def publish_history_log(self, history_log: Any) -> None:
            try:
                stamp = history_log.get("event_timestamp")
                millis = int(
                    stamp.timestamp() * 1000 if hasattr(stamp, "timestamp") else time.time() * 1000
                )
                event = {
                    "timestamp": millis,
                    "message": json.dumps(history_log, default=str, separators=(",", ":")),
                }
                logs, config = self._logs_client, self.configuration  # moto's LogsBackend
                with _execution_log_lock:
                    group = logs.groups.get(config.log_group_name)
                    if group is None:
                        return  # AWS drops execution logs for a missing log group, too
                    if config.log_stream_name not in group.streams:
                        logs.create_log_stream(config.log_group_name, config.log_stream_name)
                    logs.put_log_events(config.log_group_name, config.log_stream_name, [event])
            except Exception:  # logging must never fail the execution
                LOG.warning("execution log of %s not written", self.execution_arn, exc_info=True)

    return ExecutionLogSession


def _ExecutionLogSession(execution_arn: str, configuration: Any) -> Any:
    global _session_class
    if _session_class is None:
        _session_class = _execution_log_session_class()
    return _session_class(execution_arn, configuration)


_session_class: Any = None


_PROGRAM_CACHE_SIZE = 64
_POOL_SIZE = 32  # idle programs kept per definition (about one per concurrent execution)
_programs: dict[str, Any] = {}
_idle_programs: dict[str, list[Any]] = {}
_programs_lock = threading.Lock()


def fresh_program(definition: str):
    """The parsed ASL program of `definition`, as a private copy for one execution.

    moto parses the definition (ANTLR, pure Python: ~10 ms for a small Map) for every execution.
    We parse once per definition and deep-copy the component tree (~0.5 ms, about a tenth of
    the stack's CPU per message), so every execution still evaluates its own objects, exactly as
    after a fresh parse. A copy whose execution succeeded goes back to a small pool
    (`_return_program`) and is reused by a later execution: the component tree holds no
    per-execution state (that lives in the execution's Environment and in the Map's workers,
    created per evaluation), so a reused copy evaluates like a fresh one.
    """
    with _programs_lock:
        idle = _idle_programs.get(definition)
        if idle:
            return idle.pop()
    return copy.deepcopy(parsed_program(definition))


def parsed_program(definition: str):
    """The parse of `definition`, once per definition (never evaluated: executions get copies).

    CreateStateMachine's validation parses with it too (patches.py), so a deployed definition
    is parsed once, not once to validate and again for its first execution (~0.1-0.2 s each for
    statemachine/pipeline.asl.json). A definition that does not parse raises, and is not kept.
    """
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    template = _programs.get(definition)
    if template is None:
        template = AmazonStateLanguageParser.parse(definition)[0]
        with _programs_lock:
            if len(_programs) >= _PROGRAM_CACHE_SIZE:
                evicted = next(iter(_programs))
                _programs.pop(evicted)
                _idle_programs.pop(evicted, None)
            _programs[definition] = template
    return template


def _return_program(definition: str, program: Any) -> None:
    """Keep the program of a *succeeded* execution for reuse (see `fresh_program`)."""
    with _programs_lock:
        if definition not in _programs:
            return
        idle = _idle_programs.setdefault(definition, [])
        if len(idle) < _POOL_SIZE:
            idle.append(program)


class _Tracked:
    """Mixin for the interpreter's Execution classes: a terminated Event, interpreter crashes
    reported as a FAILED execution (never a hang), and an optional mock test case."""

    done: threading.Event
    mock_test_case: Any = None

    def _get_start_execution_worker(self):
        worker = super()._get_start_execution_worker()
        if self.mock_test_case is not None:
            worker._mock_test_case = self.mock_test_case
        definition = self.state_machine.definition
        borrowed: list[Any] = []

        def entrypoint():
            program = fresh_program(definition)
            borrowed.append(program)
            return program

        worker._get_evaluation_entrypoint = entrypoint
        environment = worker._get_evaluation_environment

        def aws_context():
            # The context object as AWS fills it: StartTime as a string in AWS's form (moto
            # puts a datetime, which no output can serialise) and RedriveCount (never redriven).
            env = environment()
            execution = env.states.context_object.context_object_data["Execution"]
            execution["StartTime"] = patches.aws_timestamp(execution["StartTime"])
            execution.setdefault("RedriveCount", 0)
            return env

        worker._get_evaluation_environment = aws_context
        logic = worker._execution_logic

        def run() -> None:
            try:
                logic()
                if self.exec_status == ExecutionStatus.SUCCEEDED:
                    for program in borrowed:
                        _return_program(definition, program)
            except Exception as exc:
                LOG.exception("state machine execution %s crashed", self.exec_arn)
                self.exec_status = ExecutionStatus.FAILED
                self.stop_date = dt.datetime.now(tz=dt.UTC)
                self.error = "States.Runtime"
                self.cause = f"{type(exc).__name__}: {exc}"
            finally:
                for listener in getattr(self, "listeners", ()):
                    try:
                        listener(self)
                    except Exception:  # an observer must never break an execution
                        LOG.exception("execution listener failed for %s", self.exec_arn)
                self.done.set()

        worker._execution_logic = run
        return worker


class TrackedExecution(_Tracked, Execution):
    pass


class TrackedSyncExecution(_Tracked, SyncExecution):
    pass


def _epoch(value: dt.datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def call_moto(function, *args):
    """Call a moto backend method, turning its AWS exceptions into ApiError."""
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


class StepFunctionsFront:
    """StartSyncExecution / StartExecution / TestState on moto's Step Functions interpreter."""

    # The operations answered here (the gateway routes them); the rest is moto's.
    OPERATIONS = ("StartExecution", "StartSyncExecution", "TestState")

    def __init__(self, account_id: str, region: str):
        self.account_id = account_id
        self.region = region
        # Set by the mock-config support: resolves `<stateMachineArn>#<TestCaseName>`.
        self.mock_resolver: MockResolver | None = None
        # Called with each execution started here once it has terminated (e.g. local X-Ray).
        self.execution_listeners: list[Callable[[Any], None]] = []

    @property
    def backend(self):
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        return stepfunctions_parser_backends[self.account_id][self.region]

    def _start(self, params: dict[str, Any], sync: bool):
        arn = params.get("stateMachineArn")
        if not arn:
            raise ApiError("ValidationException", "stateMachineArn is required")
        base_arn, _, test_case = arn.partition("#")
        state_machine = call_moto(self.backend.describe_state_machine, base_arn)
        if sync and state_machine.type != "EXPRESS":
            raise ApiError(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            )
        mock_test_case = None
        if test_case:
            resolved = (
                self.mock_resolver(state_machine.name, test_case) if self.mock_resolver else None
            )
            if resolved is None:
                raise ApiError(
                    "InvalidName",
                    f"Invalid mock test case name '{test_case}' for state machine "
                    f"'{state_machine.name}': no mock configuration defines it.",
                )
            mock_test_case = resolved
        name = params.get("name") or str(uuid.uuid4())
        raw_input = params.get("input")
        raw_input = "{}" if raw_input is None else raw_input
        try:
            json.loads(raw_input)
        except ValueError as exc:
            raise ApiError(
                "InvalidExecutionInput", f"Invalid State Machine Execution Input: '{exc}'"
            ) from exc
        existing = call_moto(state_machine._handle_name_input_idempotency, name, raw_input)
        if existing is not None and not sync:
            return existing
        if existing is not None:
            raise ApiError(
                "ExecutionAlreadyExists", f"Execution Already Exists: '{existing.exec_arn}'"
            )
        # A snapshot of the definition for this execution, as moto's own start_execution does:
        # the live executions (threads, locks) and the backend are shared, not deep-copied.
        clone = copy.deepcopy(
            state_machine,
            {id(state_machine.executions): [], id(state_machine.backend): state_machine.backend},
        )
        cls = TrackedSyncExecution if sync else TrackedExecution
        prefix = f"arn:aws:states:{self.region}:{self.account_id}"
        if state_machine.type == "EXPRESS":  # AWS: ...:express:<machine>:<name>:<execution id>
            exec_arn = f"{prefix}:express:{state_machine.name}:{name}:{uuid.uuid4()}"
        else:
            exec_arn = f"{prefix}:execution:{state_machine.name}:{name}"
        execution = cls(
            name=name,
            sm_type=StateMachineType(state_machine.type),
            role_arn=clone.roleArn,
            exec_arn=exec_arn,
            account_id=self.account_id,
            region_name=self.region,
            state_machine=clone,
            start_date=dt.datetime.now(tz=dt.UTC),
            cloud_watch_logging_session=_logging_session(state_machine, exec_arn),
            input_data=raw_input,
            trace_header=params.get("traceHeader") or new_root_header(),
            activity_store={},
        )
        execution.done = threading.Event()
        execution.trace_header_sent = bool(params.get("traceHeader"))
        execution.listeners = list(self.execution_listeners)
        # X-Ray: the execution's own segment id; its Lambda invocations join its trace as
        # children of that segment (Root of the trace header, Parent = the segment).
        segment_id = execution.xray_segment_id = secrets.token_hex(8)
        patches.register_execution_trace(
            execution.exec_arn, child_header(execution.trace_header, segment_id)
        )
        execution.mock_test_case = mock_test_case
        state_machine.executions.append(execution)
        return execution

    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "TestState":
            return test_state(params, self.account_id, self.region)
        if operation == "StartSyncExecution":
            return self.start_sync_execution(params)
        return self.start_execution(params)

    def start_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        execution = self._start(params, sync=False)
        if execution.exec_worker is None:
            execution.start()
        return {"executionArn": execution.exec_arn, "startDate": _epoch(execution.start_date)}

    def start_sync_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        execution = self._start(params, sync=True)
        execution.start()  # runs the program in this thread: no polling, no sleeping
        return self.sync_response(execution)

    def wait(self, execution_arn: str, timeout: float | None = None) -> str:
        """Block until an execution started through this front terminates; return its status."""
        execution = call_moto(self.backend.describe_execution, execution_arn)
        done = getattr(execution, "done", None)
        if done is None:
            raise ValueError(f"{execution_arn} was not started through local_aws")
        if not done.wait(timeout):
            raise TimeoutError(f"{execution_arn} still running after {timeout} s")
        return execution.status

    @staticmethod
    def sync_response(execution) -> dict[str, Any]:
        sync_status = {
            ExecutionStatus.SUCCEEDED: "SUCCEEDED",
            ExecutionStatus.TIMED_OUT: "TIMED_OUT",
        }.get(execution.exec_status, "FAILED")
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
            "outputDetails": {"included": True},
            # Express: billed in 64 MB steps and 100 ms steps
            "billingDetails": {
                "billedMemoryUsedInMB": 64,
                "billedDurationInMilliseconds": max(100, math.ceil(duration_ms / 100) * 100),
            },
        }
        if getattr(execution, "trace_header_sent", False):  # AWS echoes only a sent header
            response["traceHeader"] = execution.trace_header
        if sync_status == "SUCCEEDED":
            response["output"] = json.dumps(execution.output, separators=(",", ":"))
        if execution.error is not None:
            response["error"] = execution.error
        if execution.cause is not None:
            response["cause"] = execution.cause
        return response

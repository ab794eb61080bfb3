"""TestState on the local endpoint, evaluated by moto's Step Functions interpreter.

AWS reference: API_TestState, API_MockInput, API_TestStateConfiguration, API_InspectionData and
the developer guide's "Testing state machines with TestState API" (test-state-isolation). The
request is checked here; the state itself - its input/output processing, Parameters/Arguments,
Choice rules, Fail's ErrorPath/CausePath, retriers and catchers - is moto's parsed ASL (its
TestState parser, which records the DEBUG inspection data), evaluated once. What this module adds
to that evaluation, on the parsed objects of this one request (never on moto's classes):

- a `mock` replaces the Task's call (after its Parameters/Arguments are evaluated) or the whole
  Map/Parallel run, so the state's Retry/Catch and output processing still run on it;
- `stateConfiguration.retrierRetryCount` is the number of retries the matching retrier already
  made: with attempts left the answer is RETRIABLE (no wait: the backoff is reported in
  `inspectionData.errorDetails.retryBackoffIntervalSeconds`), else the error goes to the
  catchers (CAUGHT_ERROR with the catcher's `nextState`) or fails the state (FAILED);
- `mapIterationFailureCount` fails a mocked Map with States.ExceedToleratedFailureThreshold when
  it exceeds the state's ToleratedFailureCount / ToleratedFailurePercentage (0 when undeclared).

Anything this endpoint cannot evaluate is a ValidationException naming it, never a 500.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from typing import Any

from local_aws.core.errors import ApiError
from local_aws.stepfunctions import mock_validation, patches

INSPECTION_LEVELS = ("INFO", "DEBUG", "TRACE")
_EXECUTION_TYPES = {"Task", "Map", "Parallel"}
_NO_MOCK_TYPES = {"Pass", "Wait", "Choice", "Succeed", "Fail"}
_THRESHOLD_ERROR = "States.ExceedToleratedFailureThreshold"
_THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"
_ROLE = "arn:aws:iam::{account}:role/TestState"


def _invalid(message: str, code: str = "ValidationException") -> ApiError:
    return ApiError(code, message)


def _json_param(params: dict[str, Any], key: str, default: Any, code="ValidationException") -> Any:
    raw = params.get(key)
    if raw is None:
        return default
    if not isinstance(raw, str):
        raise _invalid(f"{key} must be a string holding JSON")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise _invalid(f"{key} is not valid JSON: {exc}", code) from exc


class _Retriable(Exception):
    """The state failed and its matching retrier has attempts left (status RETRIABLE)."""

    def __init__(self, error: str, cause: str):
        super().__init__(error)
        self.error, self.cause = error, cause


class TestStateRequest:
    """One TestState call: the checked request, then `run()` -> the TestStateOutput dict."""

    def __init__(self, params: dict[str, Any], account_id: str, region: str):
        self.account_id, self.region = account_id, region
        definition = _json_param(params, "definition", None, "InvalidDefinition")
        if not isinstance(definition, dict):
            raise _invalid(
                "definition is required: one state, or a state machine", "InvalidDefinition"
            )
        self.state_name = params.get("stateName")
        self.state, self.query_language = self._select_state(definition, self.state_name)
        self.state_type = self.state.get("Type")
        self.input = _json_param(params, "input", {}, "InvalidExecutionInput")
        self.level = params.get("inspectionLevel") or "INFO"
        if self.level not in INSPECTION_LEVELS:
            raise _invalid(f"inspectionLevel must be one of {list(INSPECTION_LEVELS)}")
        self.variables = _json_param(params, "variables", {})
        self.context = _json_param(params, "context", {})
        for key, value in (("variables", self.variables), ("context", self.context)):
            if not isinstance(value, dict):
                raise _invalid(f"{key} must be a JSON object")
        self.role_arn = params.get("roleArn")
        self.mock = self._check_mock(params.get("mock"), bool(params.get("revealSecrets")))
        self.configuration = self._check_configuration(params.get("stateConfiguration") or {})
        self._check_state()

    # -- the request ---------------------------------------------------------------------------

    @staticmethod
    def _select_state(definition: dict, state_name: str | None) -> tuple[dict, str]:
        """The state under test and its query language (a machine's applies to its states)."""
        if state_name is None:
            if "States" in definition:
                raise _invalid("stateName is required when the definition is a state machine")
            return definition, definition.get("QueryLanguage", "JSONPath")

        def find(machine: dict, language: str) -> tuple[dict, str] | None:
            language = machine.get("QueryLanguage", language)
            states = machine.get("States")
            if not isinstance(states, dict):
                return None
            if isinstance(states.get(state_name), dict):
                return states[state_name], states[state_name].get("QueryLanguage", language)
            for state in states.values():
                if not isinstance(state, dict):
                    continue
                nested = [
                    state.get("ItemProcessor"),
                    state.get("Iterator"),
                    *state.get("Branches", []),
                ]
                for machine_inside in filter(None, nested):
                    found = find(machine_inside, state.get("QueryLanguage", language))
                    if found:
                        return found
            return None

        if "States" not in definition:
            raise _invalid("stateName is given, but the definition is not a state machine")
        found = find(definition, "JSONPath")
        if found is None:
            raise _invalid(f"State '{state_name}' is not in the state machine definition")
        return found

    def _check_mock(self, mock: Any, reveal_secrets: bool) -> dict | None:
        if mock is None:
            return None
        if not isinstance(mock, dict):
            raise _invalid("mock must be an object")
        if ("result" in mock) == ("errorOutput" in mock):
            raise _invalid(
                "A test mock should have only one of the following fields: [result, errorOutput]."
            )
        if reveal_secrets:
            raise _invalid("TestState does not support RevealSecrets when a mock is specified.")
        mode = mock.get("fieldValidationMode") or mock_validation.STRICT
        if mode not in mock_validation.MODES:
            raise _invalid(f"fieldValidationMode must be one of {list(mock_validation.MODES)}")
        if "result" in mock:
            try:
                result = json.loads(mock["result"])
            except (TypeError, ValueError) as exc:
                raise _invalid(f"Mocked result must be valid JSON: {exc}") from exc
            return {"result": result, "mode": mode}
        error_output = mock["errorOutput"]
        if not isinstance(error_output, dict) or not isinstance(error_output.get("error"), str):
            raise _invalid("mock.errorOutput needs an error (a string) and an optional cause")
        return {
            "error": error_output["error"],
            "cause": error_output.get("cause") or "",
            "mode": mode,
        }

    def _check_configuration(self, configuration: Any) -> dict:
        if not isinstance(configuration, dict):
            raise _invalid("stateConfiguration must be an object")
        for key in ("retrierRetryCount", "mapIterationFailureCount"):
            value = configuration.get(key)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise _invalid(f"stateConfiguration.{key} must be an integer >= 0")
        known = {
            "retrierRetryCount",
            "errorCausedByState",
            "mapIterationFailureCount",
            "mapItemReaderData",
        }
        unknown = sorted(set(configuration) - known)
        if unknown:
            raise _invalid(f"stateConfiguration: unknown field(s) {unknown}")
        return configuration

    def _check_state(self) -> None:
        kind, mock, configuration = self.state_type, self.mock, self.configuration
        if kind in ("Map", "Parallel") and mock is None:
            raise _invalid(
                "TestState API does not support Map or Parallel states. Supported state types "
                "include: [Task, Wait, Pass, Succeed, Fail, Choice]",
                "InvalidDefinition",
            )
        if mock is not None and kind in _NO_MOCK_TYPES:
            raise _invalid(f"State type '{kind}' is not supported when a mock is specified")
        if mock is None and self.role_arn is None:
            raise _invalid("roleArn is required when no mock is specified")
        resource = str(self.state.get("Resource", ""))
        if kind == "Task" and mock is None:
            if ":activity:" in resource or resource.endswith(
                (".sync", ".sync:2", ".waitForTaskToken")
            ):
                raise _invalid(f"TestState supports the resource '{resource}' only with a mock")
            if resource.startswith("arn:aws:states:::http:"):
                raise _invalid("HTTP Tasks are not supported by the local TestState; mock them")
        if "retrierRetryCount" in configuration and not self.state.get("Retry"):
            raise _invalid("stateConfiguration.retrierRetryCount needs a state with a Retry field")
        if "mapIterationFailureCount" in configuration and kind != "Map":
            raise _invalid("stateConfiguration.mapIterationFailureCount applies to Map states only")
        if "mapItemReaderData" in configuration and "ItemReader" not in self.state:
            raise _invalid(
                "stateConfiguration.mapItemReaderData needs a Map state with an ItemReader"
            )
        caused_by = configuration.get("errorCausedByState")
        if caused_by is not None:
            if kind not in ("Map", "Parallel") or mock is None or "error" not in mock:
                raise _invalid(
                    "stateConfiguration.errorCausedByState needs a Map or Parallel state and a "
                    "mock.errorOutput"
                )
            inner = [
                self.state.get("ItemProcessor"),
                self.state.get("Iterator"),
                *self.state.get("Branches", []),
            ]
            if not any(caused_by in (m or {}).get("States", {}) for m in inner):
                raise _invalid(f"errorCausedByState '{caused_by}' is not a state of this {kind}")
        if mock is not None and "result" in mock:
            result = mock["result"]
            if kind == "Map" and "ResultWriter" not in self.state and not isinstance(result, list):
                raise _invalid("Mocked result must be an array.")
            if kind == "Map" and "ResultWriter" in self.state and not isinstance(result, dict):
                raise _invalid("Mocked result must be a JSON object.")
            if kind == "Parallel":
                if not isinstance(result, list):
                    raise _invalid("Mocked result must be an array.")
                if len(result) != len(self.state.get("Branches", [])):
                    raise _invalid(
                        "Mocked result must contain the same number of items as number of "
                        "Parallel branches."
                    )

    # -- the evaluation ------------------------------------------------------------------------

    def _program(self) -> Any:
        from moto.stepfunctions.parser.asl.parse.asl_parser import ASLParserException

        state = dict(self.state)
        state.setdefault("QueryLanguage", self.query_language)
        try:
            program = _parse_state(json.dumps(state))
        except ASLParserException as exc:
            raise _invalid(f"Invalid State Machine Definition: {exc}", "InvalidDefinition") from exc
        except Exception as exc:  # the preprocessor rejects values (e.g. MaxAttempts < 0)
            raise _invalid(f"Invalid State Machine Definition: {exc}", "InvalidDefinition") from exc
        program.test_state.name = self.state_name or "TestState"
        return program.test_state

    def _environment(self) -> Any:
        from moto.stepfunctions.parser.api import StateMachineType
        from moto.stepfunctions.parser.asl.eval.evaluation_details import AWSExecutionDetails
        from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext
        from moto.stepfunctions.parser.asl.eval.states import (
            ContextObjectData,
            ExecutionData,
            StateMachineData,
        )
        from moto.stepfunctions.parser.asl.eval.test_state.environment import (
            TestStateEnvironment,
        )
        from moto.stepfunctions.parser.asl.eval.variable_store import VariableStore

        machine = f"TestStateMachine-{uuid.uuid4().hex[:12]}"
        name = str(uuid.uuid4())
        prefix = f"arn:aws:states:{self.region}:{self.account_id}"
        context = ContextObjectData(
            Execution=ExecutionData(
                Id=f"{prefix}:express:{machine}:{name}",
                Input=copy.deepcopy(self.input),
                Name=name,
                RoleArn=self.role_arn or _ROLE.format(account=self.account_id),
                StartTime=patches.aws_timestamp(dt.datetime.now(tz=dt.UTC)),
                RedriveCount=0,
            ),
            StateMachine=StateMachineData(Id=f"{prefix}:stateMachine:{machine}", Name=machine),
        )
        _merge(context, self.context)
        variables = VariableStore()
        for key, value in self.variables.items():
            variables.set(key, value)
        variables.reset_tracing()  # inspectionData.variables: what the state assigns
        env = TestStateEnvironment(
            aws_execution_details=AWSExecutionDetails(
                account=self.account_id, region=self.region, role_arn=self.role_arn
            ),
            execution_type=StateMachineType.STANDARD,
            context=context,
            event_history_context=EventHistoryContext.of_program_start(),
            activity_store={},
        )
        env.variable_store = variables
        env.states.reset(input_value=copy.deepcopy(self.input))
        return env

    def run(self) -> dict[str, Any]:
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
            FailureEventException,
        )
        from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramError
        from moto.stepfunctions.parser.asl.eval.test_state.program_state import (
            ProgramChoiceSelected,
        )
        from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

        state = self._program()
        env = self._environment()
        caught: dict[str, Any] = {}
        hooks = _Hooks(self, state, env, caught)
        hooks.install()
        env.next_state_name = state.name
        env.inspection_data["input"] = to_json_str(self.input)
        answer: dict[str, Any]
        try:
            state.eval(env)
        except _Retriable as retriable:
            answer = {"status": "RETRIABLE", "error": retriable.error, "cause": retriable.cause}
        except FailureEventException as failure:
            details = failure.get_execution_failed_event_details() or {}
            answer = {
                "status": "FAILED",
                "error": details.get("error"),
                "cause": details.get("cause"),
            }
        except ApiError:
            raise
        except Exception as exc:  # what moto cannot evaluate is named, never a 500
            answer = {
                "status": "FAILED",
                "error": "States.Runtime",
                "cause": f"{type(exc).__name__}: {exc}",
            }
        else:
            program_state = env.program_state()
            if isinstance(program_state, ProgramError):
                error = program_state.error or {}
                answer = {
                    "status": "FAILED",
                    "error": error.get("error"),
                    "cause": error.get("cause"),
                }
            else:
                answer = {"status": "SUCCEEDED", "output": to_json_str(env.states.get_input())}
                if isinstance(program_state, ProgramChoiceSelected):
                    answer["nextState"] = program_state.next_state_name
                elif (
                    not isinstance(program_state, ProgramEnded)
                    and env.next_state_name != state.name
                ):
                    answer["nextState"] = env.next_state_name
                if caught:
                    answer.update(status="CAUGHT_ERROR", **caught)
        if self.level != "INFO":
            answer["inspectionData"] = dict(env.inspection_data)
        return {key: value for key, value in answer.items() if value is not None}


def _parse_state(text: str) -> Any:
    """moto's TestState parse of one state, except that the states nested in a Map or Parallel
    are parsed as ordinary states (moto's TestState preprocessor would turn each of them into a
    test program of its own, and the Map would not build)."""
    from antlr4 import CommonTokenStream, InputStream
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
    from moto.stepfunctions.parser.asl.parse.asl_parser import (
        ASLParserException,
        SyntaxErrorListener,
    )
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
    from moto.stepfunctions.parser.asl.parse.test_state.preprocessor import TestStatePreprocessor

    class OneStatePreprocessor(TestStatePreprocessor):
        depth = 0

        def visitState_decl_body(self, ctx):
            self.depth += 1
            try:
                if self.depth == 1:
                    return super().visitState_decl_body(ctx)
                return Preprocessor.visitState_decl_body(self, ctx)
            finally:
                self.depth -= 1

    listener = SyntaxErrorListener()
    parser = ASLParser(CommonTokenStream(ASLLexer(InputStream(text))))
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    tree = parser.state_decl_body()
    if listener.errors:
        raise ASLParserException(errors=listener.errors)
    return OneStatePreprocessor().visit(tree)


def _merge(target: dict, extra: dict) -> None:
    """`context` overrides the context object field by field (nested objects merged)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


class _Hooks:
    """Instance-level wrappers on the parsed state of one TestState call."""

    def __init__(self, request: TestStateRequest, state: Any, env: Any, caught: dict):
        self.request, self.state, self.env, self.caught = request, state, env, caught
        self.inspection = env.inspection_data

    def install(self) -> None:
        from moto.stepfunctions.parser.asl.component.common.parargs import Arguments
        from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState

        state = self.state
        parargs = getattr(state, "parargs", None)
        if isinstance(parargs, Arguments):
            self._record_after(parargs, "afterArguments")
        if getattr(state, "assign_decl", None) is not None:
            self._record_assigned(state.assign_decl)
        if not isinstance(state, ExecutionState):
            return
        if self.request.mock is not None:
            self._install_mock()
        if state.retry is not None:
            self._install_retriers()
        if state.catch is not None:
            self._install_catchers()

    def _record_after(self, component: Any, key: str) -> None:
        from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

        original = component._eval_body

        def recorded(env):
            original(env)
            self.inspection[key] = to_json_str(env.stack[-1])

        component._eval_body = recorded

    def _record_assigned(self, assign: Any) -> None:
        """inspectionData.variables: the variables the state's Assign set, as JSON."""
        from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

        original = assign._eval_body

        def recorded(env):
            original(env)
            assigned = env.variable_store.get_assigned_variables()
            values = {key: json.loads(value) for key, value in assigned.items()}
            self.inspection["variables"] = to_json_str(values)

        assign._eval_body = recorded

    # -- mock ------------------------------------------------------------------------------------

    def _install_mock(self) -> None:
        state, mock = self.state, self.request.mock
        kind = self.request.state_type
        if "result" in mock and kind == "Task":
            mock_validation.validate(mock["result"], self._output_shape(), mock["mode"])

        def mocked(env):
            if kind == "Task":
                state.resource.eval(env=env)
                env.stack.pop()
                if state.parargs is not None:  # records afterParameters/afterArguments
                    state._eval_parameters(env=env)
            elif kind == "Map":
                self._map_fields(env)
            if "error" in mock:
                _raise_failure(env, mock["error"], mock["cause"])
            env.stack.append(copy.deepcopy(mock["result"]))

        state._eval_execution = self._recording_result(mocked)

    def _recording_result(self, evaluate):
        from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

        def wrapper(env):
            evaluate(env)
            self.inspection["result"] = to_json_str(env.stack[-1])

        return wrapper

    def _output_shape(self) -> Any:
        """The botocore output shape of a service integration Task (None: nothing to check)."""
        import botocore.session
        from botocore import xform_name
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (  # noqa: E501
            StateTaskService,
        )

        if not isinstance(self.state, StateTaskService):
            return None  # a Lambda function ARN as Resource: the function's own payload
        service = self.state._get_boto_service_name()
        action = self.state._get_boto_service_action()
        try:
            model = botocore.session.get_session().get_service_model(service)
        except Exception as exc:
            raise _invalid(f"no API model for the service '{service}' of this Task") from exc
        for operation in model.operation_names:
            if xform_name(operation) == action:
                return model.operation_model(operation).output_shape
        raise _invalid(f"the service '{service}' has no action '{action}'")

    def _map_fields(self, env) -> None:
        """A mocked Map still evaluates its fields (inspection data) and its failure tolerance."""
        from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

        state, raw, configuration = self.state, self.request.state, self.request.configuration
        state.max_concurrency_decl.eval(env=env)
        self.inspection["maxConcurrency"] = env.stack.pop()
        items = None
        if "mapItemReaderData" in configuration:
            items = _json_or_invalid(configuration["mapItemReaderData"], "mapItemReaderData")
        elif getattr(state, "items_path", None) is not None and "ItemsPath" in raw:
            state.items_path.eval(env=env)
            items = env.stack.pop()
            self.inspection["afterItemsPath"] = to_json_str(items)
        state.tolerated_failure_count_decl.eval(env=env)
        count = env.stack.pop()
        state.tolerated_failure_percentage_decl.eval(env=env)
        percentage = env.stack.pop()
        declared_count = any(k.startswith("ToleratedFailureCount") for k in raw)
        declared_percentage = any(k.startswith("ToleratedFailurePercentage") for k in raw)
        if declared_count:
            self.inspection["toleratedFailureCount"] = count
        if declared_percentage:
            self.inspection["toleratedFailurePercentage"] = float(percentage)
        failures = configuration.get("mapIterationFailureCount", 0)
        if not failures:
            return
        if not (declared_count or declared_percentage):
            exceeded = True
        else:
            exceeded = declared_count and failures > count
            if declared_percentage and isinstance(items, list) and items:
                exceeded = exceeded or failures * 100.0 / len(items) > percentage
        if exceeded:
            _raise_failure(env, _THRESHOLD_ERROR, _THRESHOLD_CAUSE)

    # -- Retry / Catch ---------------------------------------------------------------------------

    def _install_retriers(self) -> None:
        from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import (
            RetrierOutcome,
        )
        from moto.stepfunctions.parser.asl.component.common.retry.retry_outcome import RetryOutcome
        from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState

        state, env, inspection = self.state, self.env, self.inspection
        retries = self.request.configuration.get("retrierRetryCount", 0)
        details = {}
        for index, retrier in enumerate(state.retry.retriers):
            # moto counts attempts and backoff multipliers in the heap: start after `retries`
            env.heap[retrier.max_attempts._attempt_number_key()] = retries - 1
            env.heap[retrier.backoff_rate._next_multiplier_key()] = (
                retrier.backoff_rate.rate**retries
            )
            self._no_wait(retrier, details)
            original = retrier._eval_body

            def matched(env, original=original, index=index):
                original(env)
                if env.stack[-1] != RetrierOutcome.Skipped:
                    details["retryIndex"] = index

            retrier._eval_body = matched
        handle_retry = state._handle_retry

        def handle(env, failure_event):
            outcome = handle_retry(env, failure_event)
            if details:
                inspection["errorDetails"] = {**inspection.get("errorDetails", {}), **details}
            if outcome == RetryOutcome.CanRetry:
                spec = ExecutionState._construct_error_output_value(failure_event)
                raise _Retriable(spec.get("Error", ""), spec.get("Cause", ""))
            return outcome

        state._handle_retry = handle

    @staticmethod
    def _no_wait(retrier: Any, details: dict) -> None:
        """Report the backoff instead of sleeping it (TestState answers RETRIABLE at once)."""
        max_delay, jitter = retrier.max_delay_seconds, retrier.jitter_strategy
        delay_body, jitter_body = max_delay._eval_body, jitter._eval_body

        def delay(env):
            delay_body(env)
            details["retryBackoffIntervalSeconds"] = int(env.stack[-1])

        def no_jitter_wait(env):
            jitter_body(env)
            env.stack[-1] = 0

        max_delay._eval_body, jitter._eval_body = delay, no_jitter_wait

    def _install_catchers(self) -> None:
        from moto.stepfunctions.parser.asl.component.common.catch.catch_outcome import CatchOutcome
        from moto.stepfunctions.parser.asl.component.common.catch.catcher_outcome import (
            CatcherOutcomeCaught,
        )
        from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState

        state, inspection, caught = self.state, self.inspection, self.caught
        for index, catcher in enumerate(state.catch.catchers):
            original = catcher._eval_body

            def matched(env, original=original, index=index):
                original(env)
                if isinstance(env.stack[-1], CatcherOutcomeCaught):
                    inspection["errorDetails"] = {
                        **inspection.get("errorDetails", {}),
                        "catchIndex": index,
                    }

            catcher._eval_body = matched
        handle_catch = state._handle_catch

        def handle(env, failure_event):
            handle_catch(env, failure_event)
            if env.stack[-1] == CatchOutcome.Caught:
                spec = ExecutionState._construct_error_output_value(failure_event)
                caught.update(error=spec.get("Error", ""), cause=spec.get("Cause", ""))

        state._handle_catch = handle


def _json_or_invalid(raw: Any, key: str) -> Any:
    try:
        return json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise _invalid(f"stateConfiguration.{key} is not valid JSON: {exc}") from exc


def _raise_failure(env: Any, error: str, cause: str) -> None:
    """Fail the state as its Task would: a TaskFailed event with this error and cause."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    states_error = next((t for t in StatesErrorNameType if t.to_name() == error), None)
    raise FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=states_error)
            if states_error
            else CustomErrorName(error),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(error=error, cause=cause)
            ),
        )
    )


def test_state(params: dict[str, Any], account_id: str, region: str) -> dict[str, Any]:
    """The TestState operation: a TestStateOutput dict, or an ApiError."""
    return TestStateRequest(params, account_id, region).run()

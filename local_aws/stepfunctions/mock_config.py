"""Step Functions Local mock configurations (`MockConfigFile.json`) on the local stack.

AWS Step Functions Local reads a mock configuration file named by `SFN_MOCK_CONFIG`; starting an
execution on `<stateMachineArn>#<TestCaseName>` then answers the Task states listed in that test
case with the file's mocked responses instead of calling the service. moto's interpreter can
execute such test cases (`moto.stepfunctions.parser.mocking.mock_config`, ported from LocalStack)
but its loader is a stub; this module is the loader, and `install()` plugs it into `LocalAWS` as
the Step Functions front's `mock_resolver`, so the same file and the same `#TestCaseName`
selection work here without Docker.

File format (the one Step Functions Local documents)::

    {"StateMachines": {"<name>": {"TestCases": {"<TestCase>": {"<StateName>": "<ResponseName>"}}}},
     "MockedResponses": {"<ResponseName>": {"0": {"Return": <result>},
                                            "1-2": {"Throw": {"Error": "...", "Cause": "..."}}}}}

Keys of a mocked response are attempt numbers of the state ("0" = the first attempt, "1-2" = the
second and third, i.e. its first two retries); they must start at 0 and be consecutive. Each entry
holds exactly one of `Return` (the task's result: for `lambda:invoke` the Invoke response,
`{"StatusCode": 200, "Payload": ...}`) or `Throw` (`Error` and `Cause`, both strings). The file is
checked completely when loaded, so a mistake fails at start-up, not in the middle of a test.

Where the file comes from: an explicit path, else `$SFN_MOCK_CONFIG` (as for Step Functions
Local); with neither, `load()` raises MockConfigError. `LocalAWS` installs a configuration by
itself only when `SFN_MOCK_CONFIG` is set.

State machines are looked up by exact name, as in Step Functions Local. One local extension: a
machine deployed from a template gets a CloudFormation-shaped name (`<LogicalId>-<SUFFIX>`); when
no entry has its exact name, the entry named `<LogicalId>` serves it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.stepfunctions.parser.mocking.mock_config import (
    MockedResponse,
    MockedResponseReturn,
    MockedResponseThrow,
    MockTestCase,
    StateMockedResponses,
)

from local_aws.stepfunctions.definitions import all_states, task_states

ENV_VAR = "SFN_MOCK_CONFIG"

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
# CloudFormation (and local_aws.template) name an unnamed state machine `<LogicalId>-<SUFFIX>`.
_GENERATED_NAME = re.compile(r"^(?P<base>.+)-[A-Za-z0-9]{12,13}$")


class MockConfigError(ValueError):
    """The mock configuration file is malformed (the message says where)."""


@dataclass(frozen=True)
class MockedAttempts:
    """One entry of a mocked response: attempts `first`..`last` (inclusive) get `Return`/`Throw`."""

    first: int
    last: int
    kind: str  # "Return" | "Throw"
    value: Any  # the Return payload, or {"Error": ..., "Cause": ...}

    def to_moto(self) -> MockedResponse:
        if self.kind == "Return":
            return MockedResponseReturn(self.first, self.last, self.value)
        return MockedResponseThrow(self.first, self.last, self.value["Error"], self.value["Cause"])


@dataclass(frozen=True)
class MockConfig:
    """A parsed, validated mock configuration."""

    test_cases_by_machine: Mapping[str, Mapping[str, Mapping[str, str]]]
    responses: Mapping[str, tuple[MockedAttempts, ...]]
    source: str = "<dict>"

    # -- queries --------------------------------------------------------------------------------

    def state_machine_names(self) -> list[str]:
        return list(self.test_cases_by_machine)

    def test_cases(self, state_machine: str) -> Mapping[str, Mapping[str, str]]:
        """{test case: {state name: mocked response name}} of one state machine entry."""
        return self.test_cases_by_machine[state_machine]

    def entry_for(self, state_machine_name: str) -> str | None:
        """The StateMachines entry serving a state machine name (exact, else generated-name)."""
        if state_machine_name in self.test_cases_by_machine:
            return state_machine_name
        generated = _GENERATED_NAME.match(state_machine_name)
        if generated and generated["base"] in self.test_cases_by_machine:
            return generated["base"]
        return None

    def attempts(self, response_name: str) -> tuple[MockedAttempts, ...]:
        return self.responses[response_name]

    # -- what the Step Functions front calls ----------------------------------------------------

    def mock_test_case(self, state_machine_name: str, test_case: str) -> MockTestCase | None:
        """moto's MockTestCase for `<arn>#<test_case>`, or None when the file does not define it."""
        entry = self.entry_for(state_machine_name)
        if entry is None:
            return None
        states = self.test_cases_by_machine[entry].get(test_case)
        if states is None:
            return None
        return MockTestCase(
            state_machine_name=state_machine_name,
            test_case_name=test_case,
            state_mocked_responses_list=[
                StateMockedResponses(
                    state_name=state,
                    mocked_response_name=response,
                    mocked_responses=[a.to_moto() for a in self.responses[response]],
                )
                for state, response in states.items()
            ],
        )

    __call__ = mock_test_case  # a MockConfig is itself a `mock_resolver`

    # -- checks against a definition ------------------------------------------------------------

    def problems_with(self, state_machine: str, definition: Mapping[str, Any] | str) -> list[str]:
        """Mocked state names that are not Task states of `definition` (state names are an API:
        a renamed state would silently stop being mocked, and Step Functions Local would call
        the real service instead)."""
        tasks = task_states(definition)
        problems = []
        for case, states in self.test_cases(state_machine).items():
            for state in states:
                if state not in tasks:
                    what = "no state" if state not in all_states(definition) else "not a Task"
                    problems.append(
                        f"{self.source}: {state_machine}.TestCases.{case}: {state!r} is {what} "
                        f"of the definition (Task states: {', '.join(sorted(tasks))})"
                    )
        return problems


# -- parsing ----------------------------------------------------------------------------------


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MockConfigError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _only_keys(value: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise MockConfigError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(allowed)}")


def _parse_range(text: str, where: str) -> tuple[int, int]:
    match = _RANGE.match(text)
    if not match:
        raise MockConfigError(f'{where}: {text!r} is not an attempt number or range ("0", "1-2")')
    first = int(match[1])
    last = int(match[2]) if match[2] is not None else first
    if last <= first and match[2] is not None:
        raise MockConfigError(f'{where}: range {text!r} must go upwards ("1-2")')
    return first, last


def _parse_response(name: str, raw: Any, source: str) -> tuple[MockedAttempts, ...]:
    where = f"{source}: MockedResponses.{name}"
    entries = _object(raw, where)
    if not entries:
        raise MockConfigError(f'{where}: no attempts defined ("0": {{"Return": ...}})')
    parsed = []
    for key, value in entries.items():
        at = f"{where}[{key!r}]"
        first, last = _parse_range(key, at)
        body = _object(value, at)
        kinds = [k for k in ("Return", "Throw") if k in body]
        _only_keys(body, {"Return", "Throw"}, at)
        if len(kinds) != 1:
            raise MockConfigError(f"{at}: needs exactly one of Return or Throw")
        kind = kinds[0]
        payload = body[kind]
        if kind == "Throw":
            throw = _object(payload, f"{at}.Throw")
            _only_keys(throw, {"Error", "Cause"}, f"{at}.Throw")
            for field in ("Error", "Cause"):
                if not isinstance(throw.get(field), str) or (field == "Error" and not throw[field]):
                    raise MockConfigError(f"{at}.Throw.{field}: a string is required")
        parsed.append(MockedAttempts(first, last, kind, payload))
    parsed.sort(key=lambda a: a.first)
    expected = 0
    for attempt in parsed:
        if attempt.first != expected:
            raise MockConfigError(
                f"{where}: attempts must be numbered from 0 without gaps or overlaps; "
                f"expected one starting at {expected}, found {attempt.first}"
            )
        expected = attempt.last + 1
    return tuple(parsed)


def parse(raw: Any, source: str = "<dict>") -> MockConfig:
    """Check a decoded mock configuration completely and return it."""
    top = _object(raw, source)
    _only_keys(top, {"StateMachines", "MockedResponses"}, source)
    machines = _object(top.get("StateMachines"), f"{source}: StateMachines")
    raw_responses = _object(top.get("MockedResponses", {}), f"{source}: MockedResponses")
    responses = {
        name: _parse_response(name, value, source) for name, value in raw_responses.items()
    }
    test_cases_by_machine: dict[str, dict[str, dict[str, str]]] = {}
    for machine, machine_value in machines.items():
        where = f"{source}: StateMachines.{machine}"
        entry = _object(machine_value, where)
        _only_keys(entry, {"TestCases"}, where)
        cases = _object(entry.get("TestCases"), f"{where}.TestCases")
        test_cases_by_machine[machine] = {}
        for case, states in cases.items():
            at = f"{where}.TestCases.{case}"
            mapping = _object(states, at)
            for state, response in mapping.items():
                if not isinstance(response, str):
                    raise MockConfigError(f"{at}.{state}: expected a mocked response name")
                if response not in responses:
                    raise MockConfigError(
                        f"{at}.{state}: mocked response {response!r} is not in MockedResponses"
                    )
            test_cases_by_machine[machine][case] = dict(mapping)
    return MockConfig(test_cases_by_machine, responses, source)


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The file to load: `path`, else `$SFN_MOCK_CONFIG` (MockConfigError when neither is set:
    there is no default file, as Step Functions Local has none)."""
    if path is not None:
        return Path(path)
    from_env = os.environ.get(ENV_VAR)
    if not from_env:
        raise MockConfigError(f"no mock configuration: pass a path or set ${ENV_VAR}")
    return Path(from_env)


def load(path: str | os.PathLike[str] | None = None) -> MockConfig:
    """Read and validate a mock configuration file (see `config_path` for which one)."""
    resolved = config_path(path)
    try:
        text = resolved.read_text(encoding="utf-8")
    except OSError as exc:
        raise MockConfigError(f"cannot read the mock configuration {resolved}: {exc}") from exc
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise MockConfigError(f"{resolved}: not valid JSON: {exc}") from exc
    return parse(raw, str(resolved))


def install(aws: Any, config: MockConfig | str | os.PathLike[str] | None = None) -> MockConfig:
    """Make `aws` (a LocalAWS, or its StepFunctionsFront) resolve `<arn>#<TestCase>` with
    `config` (a MockConfig, or a path; default: `config_path()`). Returns the configuration."""
    if not isinstance(config, MockConfig):
        config = load(config)
    front = getattr(aws, "stepfunctions", aws)
    front.mock_resolver = config
    return config

"""Fault injection: make named AWS operations fail with real AWS errors.

A rule names a service and an operation (`dynamodb PutItem`, `sqs DeleteMessage`,
`cloudwatch PutMetricData`, `lambda Invoke`, ...) and says how often to fail it: the next `count`
calls, a `probability` per call, or (neither) every call. A matching request is answered with the
service's own error wire format (local_aws/core/errors.py), so a boto3 client (a Lambda's, or the
Step Functions interpreter's) raises a real `ClientError` with that error code.

Lambda also has two faults of its own, applied to `lambda Invoke` of one function (or all):
`kind="crash"` (the worker process exits mid-invocation → `Runtime.ExitError`) and
`kind="timeout"` (the invocation ends as `Sandbox.Timedout` at once, without waiting).
"""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from local_aws.core.errors import Response, error_response
from local_aws.core.requests import RequestInfo, normalise_service

LAMBDA_FAULT_KINDS = ("crash", "timeout")


@dataclass
class FaultRule:
    service: str
    operation: str = "*"
    error_code: str = ""
    message: str = ""
    count: int | None = None
    probability: float | None = None
    http_status: int | None = None
    kind: str = "error"  # "error" | "crash" | "timeout" (the last two: lambda Invoke only)
    function: str | None = None  # lambda only: restrict to this function name
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    injected: int = 0
    seen: int = 0

    def __post_init__(self) -> None:
        self.service = normalise_service(self.service)
        if self.kind not in ("error", *LAMBDA_FAULT_KINDS):
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.kind in LAMBDA_FAULT_KINDS:
            if self.service != "lambda":
                raise ValueError(f"kind={self.kind!r} only applies to service 'lambda'")
            if self.operation in ("*", ""):
                self.operation = "Invoke"
        elif not self.error_code:
            raise ValueError("an error fault needs error_code")
        if self.count is not None and self.count < 0:
            raise ValueError("count must be >= 0")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValueError("probability must be within [0, 1]")
        if self.function:
            self.function = self.function.split(":function:")[-1].split(":")[0]

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.injected >= self.count

    def matches(self, service: str, operation: str, function: str | None) -> bool:
        if self.exhausted or service != self.service:
            return False
        if self.operation not in ("*", "") and self.operation.lower() != operation.lower():
            return False
        return not (self.function and function and self.function != function)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["remaining"] = None if self.count is None else max(self.count - self.injected, 0)
        return data


class FaultInjector:
    """The rule set of one LocalAWS; thread-safe. `active` is a cheap hot-path check."""

    def __init__(self, seed: int | None = None):
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.active = False

    def add(
        self,
        service: str,
        operation: str = "*",
        error_code: str = "",
        message: str = "",
        *,
        count: int | None = None,
        probability: float | None = None,
        http_status: int | None = None,
        kind: str = "error",
        function: str | None = None,
    ) -> FaultRule:
        rule = FaultRule(
            service=service,
            operation=operation,
            error_code=error_code,
            message=message,
            count=count,
            probability=probability,
            http_status=http_status,
            kind=kind,
            function=function,
        )
        with self._lock:
            self._rules.append(rule)
            self.active = True
        return rule

    def add_rule(self, data: dict[str, Any]) -> FaultRule:
        """Add a rule from a JSON object (HTTP/CLI); accepts `error` as an alias of error_code."""
        data = dict(data)
        if "error" in data and "error_code" not in data:
            data["error_code"] = data.pop("error")
        allowed = {
            "service",
            "operation",
            "error_code",
            "message",
            "count",
            "probability",
            "http_status",
            "kind",
            "function",
        }
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault rule fields: {sorted(unknown)}")
        if "service" not in data:
            raise ValueError("a fault rule needs a service")
        return self.add(**data)

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [rule for rule in self._rules if rule.id != rule_id]
            self.active = bool(self._rules)
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.active = False

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def stats(self) -> list[dict[str, Any]]:
        """One entry per rule: the rule and how many requests it failed (`injected`)."""
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def match(self, service: str, operation: str, function: str | None = None) -> FaultRule | None:
        """The rule that fails this call (and count it), or None."""
        if not self.active:
            return None
        service = normalise_service(service)
        with self._lock:
            for rule in self._rules:
                if not rule.matches(service, operation, function):
                    continue
                rule.seen += 1
                if rule.probability is not None and self._random.random() >= rule.probability:
                    continue
                rule.injected += 1
                return rule
        return None


def fault_response(rule: FaultRule, info: RequestInfo, request_id: str | None = None) -> Response:
    """(status, headers, body) of the AWS error this rule injects, in the request's protocol."""
    if info.service is None:
        info = RequestInfo(rule.service, info.operation, info.protocol)
    message = rule.message or f"{rule.error_code} (injected by local_aws fault rule {rule.id})"
    return error_response(info, rule.error_code, message, rule.http_status, request_id)

"""Identity-based policy evaluation: one request (action, resource, context) against policies.

Written by hand rather than with moto's `moto.iam.access_control.IAMPolicy`, because that
evaluator differs from AWS where this project's policies depend on it (moto 5.2.5):
- a statement whose Condition does not hold is DENIED there; on AWS it simply does not apply
  (so an Allow with `cloudwatch:namespace` would turn into an explicit deny);
- no NotResource; no `?` wildcard; patterns are used as regular expressions unescaped (a `.`
  in an ARN matches any character); actions are compared case-sensitively (IAM ignores case);
- conditions are its trust-policy subset (no ArnLike/ArnEquals, no ...IfExists forms).

AWS's logic, as documented in "Policy evaluation logic" (IAM User Guide,
reference_policies_evaluation-logic.html) for one account and identity-based policies only:
an explicit Deny in any statement wins; otherwise any Allow allows; otherwise implicit deny.
Condition operators follow "IAM JSON policy elements: Condition operators"
(reference_policies_elements_condition_operators.html): a key missing from the request makes
a condition false, except for the negated operators (StringNotEquals, ArnNotLike, ...), which
are then true, `...IfExists` (true when missing) and `Null`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ALLOW = "allow"
EXPLICIT_DENY = "explicit-deny"
IMPLICIT_DENY = "implicit-deny"


@dataclass(frozen=True)
class Policy:
    """One policy document and where it came from (for messages and the usage report)."""

    name: str  # e.g. "inline:SaveFunctionRolePolicy0" or a managed policy ARN
    document: Mapping[str, Any]


@dataclass(frozen=True)
class StatementRef:
    policy: str
    index: int
    sid: str | None


@dataclass
class Decision:
    effect: str  # ALLOW | EXPLICIT_DENY | IMPLICIT_DENY
    allowed_by: list[StatementRef] = field(default_factory=list)
    denied_by: list[StatementRef] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return self.effect == ALLOW


def evaluate(
    policies: Iterable[Policy],
    action: str,
    resource: str,
    context: Mapping[str, Sequence[str]] | None = None,
) -> Decision:
    context = context or {}
    allowed_by: list[StatementRef] = []
    denied_by: list[StatementRef] = []
    for policy in policies:
        for index, statement in enumerate(_statements(policy.document)):
            if not _applies(statement, action, resource, context):
                continue
            ref = StatementRef(policy.name, index, statement.get("Sid"))
            if statement.get("Effect") == "Deny":
                denied_by.append(ref)
            elif statement.get("Effect") == "Allow":
                allowed_by.append(ref)
    if denied_by:
        return Decision(EXPLICIT_DENY, allowed_by, denied_by)
    if allowed_by:
        return Decision(ALLOW, allowed_by)
    return Decision(IMPLICIT_DENY)


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _applies(statement: Mapping[str, Any], action: str, resource: str, context) -> bool:
    if "NotAction" in statement:
        if any(matches(p, action, ignore_case=True) for p in as_list(statement["NotAction"])):
            return False
    elif not any(matches(p, action, ignore_case=True) for p in as_list(statement.get("Action"))):
        return False
    if "NotResource" in statement:
        if any(matches(p, resource) for p in as_list(statement["NotResource"])):
            return False
    elif not any(matches(p, resource) for p in as_list(statement.get("Resource"))):
        return False
    return conditions_hold(statement.get("Condition") or {}, context)


@functools.lru_cache(maxsize=4096)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """IAM wildcards: `*` any run of characters, `?` one character, the rest literal."""
    body = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in str(pattern)
    )
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(pattern: Any, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard match (`*`, `?`); actions compare case-insensitively, ARNs exactly."""
    return bool(_pattern(str(pattern), ignore_case).match(value))


# ---------------------------------------------------------------------------- conditions


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-separated parts matched on its own (wildcards allowed)."""
    p_parts, v_parts = str(pattern).split(":", 5), value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return False
    return all(matches(p, v) for p, v in zip(p_parts, v_parts, strict=True))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numeric(compare):
    def test(expected: str, actual: str) -> bool:
        a, e = _number(actual), _number(expected)
        return a is not None and e is not None and compare(a, e)

    return test


# operator -> (test(policy value, request value), negated)
_OPERATORS = {
    "StringEquals": (lambda e, a: a == str(e), False),
    "StringNotEquals": (lambda e, a: a == str(e), True),
    "StringEqualsIgnoreCase": (lambda e, a: a.lower() == str(e).lower(), False),
    "StringNotEqualsIgnoreCase": (lambda e, a: a.lower() == str(e).lower(), True),
    "StringLike": (lambda e, a: matches(e, a), False),
    "StringNotLike": (lambda e, a: matches(e, a), True),
    "ArnEquals": (lambda e, a: a == str(e), False),
    "ArnNotEquals": (lambda e, a: a == str(e), True),
    "ArnLike": (_arn_like, False),
    "ArnNotLike": (_arn_like, True),
    "Bool": (lambda e, a: a.lower() == str(e).lower(), False),
    "NumericEquals": (_numeric(lambda a, e: a == e), False),
    "NumericNotEquals": (_numeric(lambda a, e: a == e), True),
    "NumericLessThan": (_numeric(lambda a, e: a < e), False),
    "NumericLessThanEquals": (_numeric(lambda a, e: a <= e), False),
    "NumericGreaterThan": (_numeric(lambda a, e: a > e), False),
    "NumericGreaterThanEquals": (_numeric(lambda a, e: a >= e), False),
}


class UnsupportedCondition(ValueError):
    """A condition operator this evaluator does not know (never silently true)."""


def conditions_hold(condition: Mapping[str, Any], context: Mapping[str, Sequence[str]]) -> bool:
    """Every operator block and every key in it must hold (AND); values of a key are OR-ed."""
    lowered = {k.lower(): [str(v) for v in as_list(vals)] for k, vals in context.items()}
    for operator, keys in condition.items():
        for key, expected in keys.items():
            if not _condition_holds(operator, as_list(expected), lowered.get(key.lower())):
                return False
    return True


def _condition_holds(operator: str, expected: list[Any], actual: list[str] | None) -> bool:
    # Condition keys are case-insensitive (lowered above); values keep their case.
    qualifier, _, name = operator.rpartition(":")
    if name == "Null":
        is_null = not actual
        return any(str(e).lower() == str(is_null).lower() for e in expected)
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name not in _OPERATORS:
        raise UnsupportedCondition(f"condition operator {operator} is not evaluated locally")
    test, negated = _OPERATORS[name]
    if not actual:
        if if_exists:
            return True
        return negated or qualifier == "ForAllValues"
    if qualifier == "ForAllValues":
        matches = [any(test(e, a) for e in expected) for a in actual]
        return all(not m for m in matches) if negated else all(matches)
    matched = any(test(e, a) for e in expected for a in actual)
    return not matched if negated else matched

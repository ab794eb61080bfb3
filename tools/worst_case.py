"""Worst-case duration of one pipe batch, computed from the ASL retry policies and the template's
function timeouts. Prints the Markdown table that docs/workflow.md embeds (a test keeps the two
in step).

Model (deliberately pessimistic):
- every Lambda attempt lasts the function's full Timeout, every SDK-integration attempt its
  state TimeoutSeconds (even throttles, which in practice fail in milliseconds);
- a Task makes at most 1 + the sum of MaxAttempts over its retriers (different errors can
  alternate, so each retrier's budget can be spent in full);
- retry k of a retrier waits at most min(IntervalSeconds * BackoffRate**(k-1), MaxDelaySeconds);
  JitterStrategy FULL draws the wait uniformly from [0, that bound], so the bound holds;
- Choice, Succeed and Fail states take no time;
- one item takes the longest path of its iteration; a batch of n takes n times that, and the
  state machine's TimeoutSeconds ends the execution (FAILED, so the pipe redelivers) at the latest.

Usage: python tools/worst_case.py [template.yaml]
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_INTERVAL = 1
DEFAULT_BACKOFF = 2.0


@dataclass
class TaskBudget:
    state: str
    attempt_seconds: float
    attempts: int
    wait_seconds: float

    @property
    def total(self) -> float:
        return self.attempts * self.attempt_seconds + self.wait_seconds


def retry_waits(retrier: dict) -> list[float]:
    interval = retrier.get("IntervalSeconds", DEFAULT_INTERVAL)
    rate = retrier.get("BackoffRate", DEFAULT_BACKOFF)
    cap = retrier.get("MaxDelaySeconds")
    waits = []
    for k in range(retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS)):
        wait = interval * rate**k
        waits.append(min(wait, cap) if cap is not None else wait)
    return waits


def function_timeouts(template: dict) -> dict[str, float]:
    """Function logical id -> Timeout (function property, else Globals, else Lambda's 3 s)."""
    default = template.get("Globals", {}).get("Function", {}).get("Timeout", 3)
    return {
        logical_id: resource.get("Properties", {}).get("Timeout", default)
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def substitution_targets(template: dict) -> dict[str, str]:
    """DefinitionSubstitutions key -> function logical id, for `!GetAtt X.Arn` values."""
    machine = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine"
    )
    targets = {}
    for key, value in machine["Properties"]["DefinitionSubstitutions"].items():
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            targets[key] = value["Fn::GetAtt"][0]
    return targets


def task_budgets(asl: dict, template: dict) -> dict[str, TaskBudget]:
    timeouts = function_timeouts(template)
    targets = substitution_targets(template)
    states = asl["States"]["ProcessBatch"]["ItemProcessor"]["States"]
    budgets = {}
    for name, state in states.items():
        if state["Type"] != "Task":
            continue
        if state["Resource"] == LAMBDA_INVOKE:
            key = state["Parameters"]["FunctionName"].strip("${}")
            attempt = timeouts[targets[key]]
        else:
            attempt = state["TimeoutSeconds"]
        retriers = state.get("Retry", [])
        budgets[name] = TaskBudget(
            state=name,
            attempt_seconds=attempt,
            attempts=1 + sum(r.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS) for r in retriers),
            wait_seconds=sum(sum(retry_waits(r)) for r in retriers),
        )
    return budgets


def successors(state: dict) -> list[str]:
    nexts = [state["Next"]] if "Next" in state else []
    nexts += [choice["Next"] for choice in state.get("Choices", [])]
    nexts += [state["Default"]] if "Default" in state else []
    nexts += [catcher["Next"] for catcher in state.get("Catch", [])]
    return list(dict.fromkeys(nexts))


def longest_path(asl: dict, budgets: dict[str, TaskBudget]) -> tuple[float, list[str]]:
    processor = asl["States"]["ProcessBatch"]["ItemProcessor"]
    states = processor["States"]

    def walk(name: str, seen: tuple[str, ...]) -> tuple[float, list[str]]:
        if name in seen:
            raise ValueError(f"cycle through {name}")
        own = budgets[name].total if name in budgets else 0.0
        best: tuple[float, list[str]] = (0.0, [])
        for nxt in successors(states[name]):
            candidate = walk(nxt, (*seen, name))
            if candidate[0] > best[0]:
                best = candidate
        return own + best[0], [name, *best[1]]

    return walk(processor["StartAt"], ())


def load(template_path: Path) -> tuple[dict, dict]:
    template, matches = decode(str(template_path))
    if matches:
        raise SystemExit("\n".join(str(m) for m in matches))
    machine = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine"
    )
    asl_path = template_path.parent / machine["Properties"]["DefinitionUri"]
    return json.loads(asl_path.read_text(encoding="utf-8")), template


def _s(seconds: float) -> str:
    return f"{seconds:g} s"


def table(asl: dict, template: dict) -> str:
    budgets = task_budgets(asl, template)
    item, path = longest_path(asl, budgets)
    cap = asl.get("TimeoutSeconds")
    lines = [
        "| state | one attempt ≤ | attempts ≤ | retry waits ≤ | worst case |",
        "|---|---|---|---|---|",
    ]
    for budget in budgets.values():
        lines.append(
            f"| `{budget.state}` | {_s(budget.attempt_seconds)} | {budget.attempts} "
            f"| {_s(budget.wait_seconds)} | {_s(budget.total)} |"
        )
    lines += [
        "",
        f"- Longest path of one message: {' → '.join(f'`{p}`' for p in path)} = **{_s(item)}**.",
        f"- Batch of 1 (the default `BatchSize`): **{_s(item)}**.",
        f"- Batch of 10, uncapped: 10 x {_s(item)} = {_s(10 * item)}; the state machine's "
        f"`TimeoutSeconds` ends it at **{_s(cap)}** (FAILED: the pipe redelivers what was not "
        "yet deleted), well inside the pipe's 300 s.",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    template_path = Path(argv[1]) if len(argv) > 1 else ROOT / "template.yaml"
    print(table(*load(template_path)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""What became of a record in one run, from the workflow's state names: the one set of rules.

The state names are an API of the workflow (docs/contract.md, "State names"): when the ASL
changes a route, these rules change here and nowhere else. Used by the runs reader (console,
`runs`), the demo's observer and the chaos checker.
"""

from __future__ import annotations

from pipeline_tools.runs.history import StateStep

# Outcomes of one run (one Map iteration).
OUTCOMES = ("saved", "duplicate", "quarantined", "left-for-pipe", "failed", "not-run", "running")
# The Catch branches' metric-writing states and the metric each writes.
ERROR_METRIC_STATES = {
    "RecordInvalidMessage": "InvalidMessages",
    "RecordDynamoDBCheckError": "DynamoDBCheckError",
    "RecordDynamoDBSaveError": "DynamoDBSaveError",
    "RecordSQSGetURLError": "SQSGetURLError",
    "RecordSQSDeleteError": "SQSDeleteError",
}


def classify(steps: list[StateStep], iteration_status: str | None) -> tuple[str, str | None]:
    """(outcome, reason) of one iteration, from the state names of the workflow."""
    names = [s.name for s in steps]
    by_name = {s.name: s for s in steps}
    if iteration_status is None:
        return "running", None
    if iteration_status != "MapIterationSucceeded":
        failing = next((s for s in reversed(steps) if s.error), None)
        return "failed", failing.error if failing else None
    if "QuarantineMessage" in names:
        caught = next((s for s in steps if s.status == "CAUGHT"), None)
        return "quarantined", caught.error if caught else None
    if "LeaveForPipeDelete" in names:
        caught = by_name.get("Delete")
        return "left-for-pipe", caught.error if caught else None
    save = by_name.get("Save")
    if save is not None and save.status == "CAUGHT":
        return "duplicate", save.error  # DuplicateMessage: lost the conditional-put race
    if save is not None:
        return "saved", None
    if "IsDuplicate" in names and "Delete" in names:
        return "duplicate", None
    return "succeeded", None

"""The small version of `make chaos` (docs/reliability.md): 200 messages in 10 groups on the
session's local stack, random faults of every kind plus outages, then the invariant checker."""

from __future__ import annotations

from reliability.chaos import FAULTS, format_report, run_chaos


def test_small_chaos_run_keeps_every_invariant(local_stack, capsys):
    local_stack.faults.clear()
    try:
        report = run_chaos(
            local_stack,
            messages=200,
            groups=10,
            seed=11,
            outage_every_s=3,
            timeout_s=300,
            log=lambda line: None,
        )
    finally:
        local_stack.faults.clear()
    table = format_report(report)
    with capsys.disabled():
        print("\n" + table)
    assert report.ok, table
    assert report.messages == 200
    assert {row.spec.label for row in report.faults} == {spec.label for spec in FAULTS}
    # Every fault kind was injected (the rarely called GetQueueUrl aside) and seen by the workflow.
    for row in report.faults:
        if row.spec.operation != "GetQueueUrl":
            assert row.injected > 0, row.spec.label
    assert sum(row.failed_executions for row in report.faults) > 0
    kinds = {a.kind for a in report.accounts}
    assert {"stored", "duplicate", "quarantined"} <= kinds

"""The small version of `make chaos` (docs/reliability.md): 200 messages in 10 groups on the
session's local stack, random faults of every kind plus outages, then the invariant checker.

One seed decides the workload and the fault draws: CHAOS_SEED=<n> re-runs it with another
(a failure prints the seed and the command line that repeats it)."""

from __future__ import annotations

import os

import pytest

from reliability.chaos import FAULTS, format_report, run_chaos

SEED = int(os.environ.get("CHAOS_SEED", "11"))


@pytest.mark.starts_first
def test_small_chaos_run_keeps_every_invariant(local_stack, capsys):
    local_stack.faults.clear()
    try:
        report = run_chaos(
            local_stack,
            messages=200,
            groups=10,
            seed=SEED,
            outage_every_s=3,
            timeout_s=300,
            log=lambda line: None,
        )
    finally:
        local_stack.faults.clear()
    table = format_report(report)
    rerun = f"seed {SEED}: CHAOS_SEED={SEED} pytest tests/reliability/test_chaos_small.py"
    with capsys.disabled():
        print(f"\n{rerun}\n{table}")
    assert report.ok, f"{rerun}\n{table}"
    assert report.messages == 200
    assert {row.spec.label for row in report.faults} == {spec.label for spec in FAULTS}
    # Every fault kind was injected (the rarely called GetQueueUrl aside) and seen by the workflow.
    for row in report.faults:
        if row.spec.operation != "GetQueueUrl":
            assert row.injected > 0, f"{rerun}: {row.spec.label} never injected"
    assert sum(row.failed_executions for row in report.faults) > 0, rerun
    kinds = {a.kind for a in report.accounts}
    assert {"stored", "duplicate", "quarantined"} <= kinds, f"{rerun}: accounts {kinds}"

"""The invariant checker itself: it must fail on each kind of violation, not only pass."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from pipeline_tools.contract import METRIC_NAMES
from reliability import workload
from reliability.invariants import Evidence, Iteration, Sent, body_sha256, check


def _sent(plan):
    return [
        Sent(
            index=p.index,
            group=p.group,
            kind=p.kind,
            body=p.body,
            dedup_id=p.dedup_id,
            sqs_message_id=f"sqs-{p.index}",
            sent_at=1000.0 + p.index,
            message_id=p.message_id,
            duplicate_of=p.duplicate_of,
        )
        for p in plan
    ]


def _happy_evidence(sent):
    """What a perfect run would leave behind for this workload."""
    items, dlq, iterations = {}, [], {}
    metrics = Counter()
    for s in sent:
        it = Iteration("arn:exec", "SUCCEEDED", s.sent_at, 0, result="MapIterationSucceeded")
        if s.kind == "valid":
            items[s.message_id] = {
                "message_id": {"S": s.message_id},
                "sqs_message_id": {"S": s.sqs_message_id},
                "body_sha256": {"S": body_sha256(s.body)},
                "processed_at": {"S": f"2026-01-01T00:00:{s.index:06d}Z"},
            }
            it.saved = 1
            it.states = ["Validate", "CheckIdempotency", "IsDuplicate", "Save", "Delete"]
        elif s.kind == "duplicate" and s.dedup_id == sent[s.duplicate_of].dedup_id:
            continue  # dropped by SQS de-duplication: no execution at all
        elif s.kind == "duplicate":
            it.duplicate = 1
            it.states = ["Validate", "CheckIdempotency", "IsDuplicate", "Delete"]
        else:
            reason = "InvalidMessage" if s.kind == "invalid" else "PayloadMismatch"
            dlq.append(
                {
                    "MessageId": f"dlq-{s.index}",
                    "Body": s.body,
                    "MessageAttributes": {
                        "reason": {"StringValue": reason},
                        "source_message_id": {"StringValue": s.sqs_message_id},
                    },
                }
            )
            it.states = ["Validate", "QuarantineMessage", "RecordInvalidMessage", "Delete"]
            it.metrics_written["InvalidMessages"] += 1
        it.deleted = 1
        iterations[s.sqs_message_id] = [it]
        metrics["MessagesSaved"] += it.saved
        metrics["DuplicateMessages"] += it.duplicate
        metrics["MessagesDeleted"] += 1
        metrics.update(it.metrics_written)
    return Evidence(items, dlq, iterations, Counter(), Counter(), dict(metrics))


def _results(sent, evidence):
    _, results = check(sent, evidence)
    return {r.name: r for r in results}


def test_a_perfect_run_passes():
    sent = _sent(workload.plan(200, 10, seed=3))
    results = _results(sent, _happy_evidence(sent))
    assert all(r.ok for r in results.values()), [r.violations for r in results.values()]


def test_a_lost_message_fails_i1():
    sent = _sent(workload.plan(200, 10, seed=3))
    evidence = _happy_evidence(sent)
    victim = next(s for s in sent if s.kind == "invalid")
    evidence.dlq = [
        m
        for m in evidence.dlq
        if m["MessageAttributes"]["source_message_id"]["StringValue"] != victim.sqs_message_id
    ]
    results = _results(sent, evidence)
    assert not results["I1"].ok and victim.sqs_message_id in results["I1"].violations[0]


def test_a_stored_message_also_in_the_dlq_fails_i1():
    sent = _sent(workload.plan(200, 10, seed=3))
    evidence = _happy_evidence(sent)
    victim = next(s for s in sent if s.kind == "valid")
    evidence.dlq.append({"MessageId": victim.sqs_message_id, "Body": victim.body, "Attributes": {}})
    results = _results(sent, evidence)
    assert not results["I1"].ok
    assert "['stored', 'dead-lettered']" in results["I1"].violations[0]


def test_a_second_save_fails_i2():
    sent = _sent(workload.plan(200, 10, seed=3))
    evidence = _happy_evidence(sent)
    victim = next(s for s in sent if s.kind == "valid")
    evidence.iterations[victim.sqs_message_id][0].saved = 2
    assert not _results(sent, evidence)["I2"].ok


def test_out_of_order_storage_fails_i3():
    sent = _sent(workload.plan(200, 10, seed=3))
    evidence = _happy_evidence(sent)
    group = sent[0].group
    first, second = [s for s in sent if s.group == group and s.kind == "valid"][:2]
    a, b = evidence.items[first.message_id], evidence.items[second.message_id]
    a["processed_at"], b["processed_at"] = b["processed_at"], a["processed_at"]
    results = _results(sent, evidence)
    assert not results["I3"].ok and group in results["I3"].violations[0]


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_a_metric_mismatch_fails_i4(name):
    sent = _sent(workload.plan(200, 10, seed=3))
    evidence = _happy_evidence(sent)
    evidence.metrics[name] = evidence.metrics.get(name, 0) + 1
    result = _results(sent, evidence)["I4"]
    assert not result.ok
    assert any(v.startswith(f"{name}: CloudWatch") for v in result.violations), result.violations


def test_the_workload_mix():
    plan = workload.plan(2000, 20, seed=7)
    kinds = Counter(p.kind for p in plan)
    assert kinds == {"valid": 1680, "duplicate": 200, "invalid": 100, "mismatch": 20}
    assert len({p.group for p in plan}) == 20
    for p in plan:
        if p.kind in ("duplicate", "mismatch"):
            original = plan[p.duplicate_of]
            assert original.group == p.group and original.index < p.index
            assert original.message_id == p.message_id
            assert (p.body == original.body) == (p.kind == "duplicate")
        if p.kind == "valid":
            assert json.loads(p.body)["message_id"] == p.message_id
    exact = [
        p for p in plan if p.kind == "duplicate" and p.dedup_id == plan[p.duplicate_of].dedup_id
    ]
    assert len(exact) == 100

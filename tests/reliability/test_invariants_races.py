"""I1's allowed accounts decided by the evidence: the first body stored under a message_id makes
a later copy a duplicate (same body) or a conflict (PayloadMismatch), whatever the workload
planned. One message group, built by hand: each test is one interleaving the pipeline can produce
(the checker must pass it) or cannot (the checker must fail it, naming the send)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from reliability.invariants import Evidence, Iteration, Sent, body_sha256, check

MESSAGE_ID = "6f1b1c2e-8d4f-4a57-9a51-2d0c6d3f9b10"
ORIGINAL = json.dumps({"message_id": MESSAGE_ID, "payload": {"amount": 10.0}})
CONFLICT = json.dumps(
    {"message_id": MESSAGE_ID, "payload": {"amount": 11.5}}
)  # workload's mismatch
STORED_STATES = ["Validate", "CheckIdempotency", "IsDuplicate", "Save", "Delete"]
DUPLICATE_STATES = ["Validate", "CheckIdempotency", "IsDuplicate", "Delete"]
QUARANTINE_STATES = ["Validate", "CheckIdempotency", "QuarantineMessage", "RecordInvalidMessage"]


class Group:
    """The sends of one message group and the evidence a run left behind for them."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.evidence = Evidence({}, [], {}, Counter(), Counter(), {})

    def send(self, kind: str, *, body: str | None = None, same_dedup_as: Sent | None = None):
        index = len(self.sent)
        body = body or {"valid": ORIGINAL, "duplicate": ORIGINAL, "mismatch": CONFLICT}[kind]
        s = Sent(
            index=index,
            group="g1",
            kind=kind,
            body=body,
            dedup_id=same_dedup_as.dedup_id if same_dedup_as else f"dedup-{index}",
            sqs_message_id=f"sqs-{index}",
            sent_at=1000.0 + index,
            message_id=MESSAGE_ID if kind != "invalid" else f"invalid-{index}",
            duplicate_of=0 if kind in ("duplicate", "mismatch") else None,
        )
        self.sent.append(s)
        return s

    def _iteration(self, s: Sent, status: str = "SUCCEEDED", **fields) -> Iteration:
        its = self.evidence.iterations.setdefault(s.sqs_message_id, [])
        it = Iteration(f"arn:exec:{s.index}:{len(its)}", status, s.sent_at + len(its), 0, **fields)
        its.append(it)
        return it

    def stored(self, s: Sent) -> None:
        self._iteration(s, result="MapIterationSucceeded", states=STORED_STATES, saved=1, deleted=1)
        self.evidence.items[s.message_id] = {
            "message_id": {"S": s.message_id},
            "sqs_message_id": {"S": s.sqs_message_id},
            "body_sha256": {"S": body_sha256(s.body)},
            "processed_at": {"S": f"2026-01-01T00:00:{s.index:06d}Z"},
        }

    def duplicate(self, s: Sent, status: str = "SUCCEEDED") -> None:
        self._iteration(
            s, status, result="MapIterationSucceeded", states=DUPLICATE_STATES, duplicate=1,
            deleted=1,
        )  # fmt: skip

    def quarantined(self, s: Sent, reason: str) -> None:
        it = self._iteration(s, result="MapIterationSucceeded", states=QUARANTINE_STATES)
        it.metrics_written["InvalidMessages"] += 1
        self.evidence.dlq.append(
            {
                "MessageId": f"dlq-{s.index}",
                "Body": s.body,
                "MessageAttributes": {
                    "reason": {"StringValue": reason},
                    "source_message_id": {"StringValue": s.sqs_message_id},
                },
            }
        )

    def dead_lettered(self, s: Sent, receives: int = 5) -> None:
        """Validate crashed on every receive; SQS redrove it (same MessageId) to the DLQ."""
        for _ in range(receives):
            self._iteration(
                s, "FAILED", result="MapIterationFailed", states=["Validate"],
                errors=["Validate:Runtime.ExitError"],
            )  # fmt: skip
        self.evidence.dlq.append({"MessageId": s.sqs_message_id, "Body": s.body})

    def results(self):
        """check()'s results, with CloudWatch sums equal to what the iterations did (I4 holds)."""
        metrics: Counter = Counter()
        for its in self.evidence.iterations.values():
            for i in its:
                metrics["MessagesSaved"] += i.saved
                metrics["DuplicateMessages"] += i.duplicate
                metrics["MessagesDeleted"] += i.deleted
                metrics.update(i.metrics_written)
        self.evidence.metrics = dict(metrics)
        accounts, results = check(self.sent, self.evidence)
        return {a.sent.index: a.kind for a in accounts}, {r.name: r for r in results}


def assert_passes(group: Group) -> dict[int, str]:
    kinds, results = group.results()
    assert all(r.ok for r in results.values()), {n: r.violations for n, r in results.items()}
    return kinds


def assert_i1_fails_on(group: Group, *indices: int) -> None:
    _, results = group.results()
    assert not results["I1"].ok
    assert sorted(int(v.split()[0][1:]) for v in results["I1"].violations) == sorted(indices)


# ---------------------------------------------------------------------- allowed interleavings


def test_original_dead_lettered_mismatch_stored_then_duplicate_is_a_conflict():
    """The interleaving of the issue: the duplicate's body differs from the first one stored."""
    g = Group()
    original, mismatch, duplicate = g.send("valid"), g.send("mismatch"), g.send("duplicate")
    g.dead_lettered(original)
    g.stored(mismatch)
    g.quarantined(duplicate, "PayloadMismatch")
    assert assert_passes(g) == {0: "dead-lettered", 1: "stored", 2: "quarantined"}


def test_original_dead_lettered_duplicate_stored_then_mismatch_is_a_conflict():
    """Its mirror image: the duplicate is stored first, the mismatch conflicts with it."""
    g = Group()
    original, duplicate, mismatch = g.send("valid"), g.send("duplicate"), g.send("mismatch")
    g.dead_lettered(original)
    g.stored(duplicate)
    g.quarantined(mismatch, "PayloadMismatch")
    assert assert_passes(g) == {0: "dead-lettered", 1: "stored", 2: "quarantined"}


def test_a_second_mismatch_is_a_duplicate_of_the_first_stored_mismatch():
    g = Group()
    original, first, second = g.send("valid"), g.send("mismatch"), g.send("mismatch")
    g.dead_lettered(original)
    g.stored(first)
    g.duplicate(second)
    assert assert_passes(g) == {0: "dead-lettered", 1: "stored", 2: "duplicate"}


def test_a_redriven_original_later_resent_is_stored_by_the_resend():
    g = Group()
    original, resend, again = g.send("valid"), g.send("duplicate"), g.send("duplicate")
    g.dead_lettered(original)
    g.stored(resend)
    g.duplicate(again)
    assert assert_passes(g) == {0: "dead-lettered", 1: "stored", 2: "duplicate"}


@pytest.mark.parametrize("original_outcome", ["stored", "dead_lettered"])
def test_a_resend_deduplicated_by_sqs(original_outcome):
    g = Group()
    original = g.send("valid")
    g.send("duplicate", same_dedup_as=original)  # never delivered: no execution, no DLQ copy
    getattr(g, original_outcome)(original)
    assert assert_passes(g) == {0: original_outcome.replace("_", "-"), 1: "sqs-deduplicated"}


def test_a_resend_deduplicated_by_sqs_leaves_the_id_to_a_later_mismatch():
    g = Group()
    original = g.send("valid")
    g.send("duplicate", same_dedup_as=original)
    mismatch, duplicate = g.send("mismatch"), g.send("duplicate")
    g.dead_lettered(original)
    g.stored(mismatch)
    g.quarantined(duplicate, "PayloadMismatch")
    assert assert_passes(g) == {
        0: "dead-lettered",
        1: "sqs-deduplicated",
        2: "stored",
        3: "quarantined",
    }


def test_a_copy_received_while_its_original_is_in_flight_is_a_duplicate():
    """The original stored and deleted by the workflow in an execution that then failed (a later
    record of its batch); the copy, held by the pipe meanwhile, is released and processed."""
    g = Group()
    original, copy = g.send("valid"), g.send("duplicate")
    g.stored(original)
    g.evidence.iterations[original.sqs_message_id][0].status = "FAILED"
    g.duplicate(copy, status="FAILED")  # its first delivery: in another failed batch
    g.duplicate(copy)
    assert assert_passes(g) == {0: "stored", 1: "duplicate"}


def test_an_original_redelivered_after_it_was_stored_stays_stored():
    """Save succeeded, the execution failed later (LeaveForPipeDelete, a later record failed):
    the redelivery finds its own item."""
    g = Group()
    original = g.send("valid")
    g.stored(original)
    g.duplicate(original)
    assert assert_passes(g) == {0: "stored"}


@pytest.mark.parametrize(
    ("kind", "outcome", "expected"),
    [
        ("valid", "stored", "stored"),
        ("valid", "dead_lettered", "dead-lettered"),
        ("duplicate", "duplicate", "duplicate"),
        ("duplicate", "dead_lettered", "dead-lettered"),
        ("mismatch", "conflict", "quarantined"),
        ("mismatch", "dead_lettered", "dead-lettered"),
        ("invalid", "invalid", "quarantined"),
        ("invalid", "dead_lettered", "dead-lettered"),
    ],
)
def test_each_planned_account_of_each_kind(kind, outcome, expected):
    """After a stored original, the plan's own allowed set for each workload kind."""
    g = Group()
    original = g.send("valid")
    s = original if kind == "valid" else g.send(kind, body="{" if kind == "invalid" else None)
    if s is not original:
        g.stored(original)
    if outcome == "conflict":
        g.quarantined(s, "PayloadMismatch")
    elif outcome == "invalid":
        g.quarantined(s, "InvalidMessage")
    else:
        getattr(g, outcome)(s)
    assert assert_passes(g)[s.index] == expected


# ---------------------------------------------------------------------- real violations


def test_a_copy_stored_before_its_processed_original_fails():
    """The original handled as a duplicate of a copy sent after it: FIFO order was broken."""
    g = Group()
    original, copy = g.send("valid"), g.send("duplicate")
    g.stored(copy)
    g.duplicate(original)
    assert_i1_fails_on(g, 0, 1)


def test_a_conflict_with_its_own_stored_body_fails():
    g = Group()
    original, copy = g.send("valid"), g.send("duplicate")
    g.stored(original)
    g.quarantined(copy, "PayloadMismatch")
    assert_i1_fails_on(g, 1)


def test_a_conflict_when_nothing_is_stored_fails():
    g = Group()
    original, mismatch = g.send("valid"), g.send("mismatch")
    g.dead_lettered(original)
    g.quarantined(mismatch, "PayloadMismatch")
    assert_i1_fails_on(g, 1)


def test_a_conflict_with_a_body_stored_only_later_fails():
    """The duplicate was sent before the mismatch that got stored: it should have been first."""
    g = Group()
    original, duplicate, mismatch = g.send("valid"), g.send("duplicate"), g.send("mismatch")
    g.dead_lettered(original)
    g.quarantined(duplicate, "PayloadMismatch")
    g.stored(mismatch)
    assert_i1_fails_on(g, 1, 2)


def test_a_mismatch_skipped_as_a_duplicate_fails():
    g = Group()
    original, mismatch = g.send("valid"), g.send("mismatch")
    g.stored(original)
    g.duplicate(mismatch)  # claims nothing: its body is not the stored one
    assert_i1_fails_on(g, 1)


def test_an_original_lost_while_a_copy_was_stored_fails():
    g = Group()
    g.send("valid")  # no execution, no DLQ copy: lost
    g.stored(g.send("duplicate"))
    assert_i1_fails_on(g, 0, 1)


def test_a_violation_names_the_send_its_claims_and_the_stored_evidence():
    g = Group()
    original, copy = g.send("valid"), g.send("duplicate")
    g.stored(original)
    g.quarantined(copy, "PayloadMismatch")
    _, results = g.results()
    [violation] = results["I1"].violations
    assert violation.startswith(f"#1 duplicate sqs-1 group g1 message_id {MESSAGE_ID}: ")
    assert "claims ['quarantined:PayloadMismatch']" in violation
    assert "allowed ['dead-lettered', 'duplicate', 'sqs-deduplicated']" in violation
    assert "item stored by send #0" in violation


def test_a_save_that_lost_the_race_to_its_own_write_is_stored_without_messages_saved():
    """PutItem went through, its answer was lost (SDK read timeout), the retry found the item:
    DuplicateMessage. One item, counted in DuplicateMessages, not in MessagesSaved."""
    g = Group()
    original = g.send("valid")
    g.stored(original)
    it = g.evidence.iterations[original.sqs_message_id][0]
    it.saved, it.duplicate, it.errors = 0, 1, ["Save:DuplicateMessage"]
    assert assert_passes(g) == {0: "stored"}


def test_a_stored_message_without_any_save_evidence_fails_i4():
    g = Group()
    original = g.send("valid")
    g.stored(original)
    g.evidence.iterations[original.sqs_message_id][0].saved = 0
    _, results = g.results()
    assert not results["I4"].ok
    [violation] = results["I4"].violations
    assert violation.startswith("MessagesSaved 0 != stored 1 - stored by their own retried write 0")
    assert "#0 sqs-0" in violation

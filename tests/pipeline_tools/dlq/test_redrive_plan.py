"""The redrive plan: one send per source_message_id, dlq_retry + 1 with every number's text kept,
bodies that cannot be changed sent as they are, filters."""

from __future__ import annotations

import json

import pytest

from pipeline_tools.dlq.messages import DeadLetter, Filters, parse_age
from pipeline_tools.dlq.redrive import plan, redrive_group, redriven_body


def letter(sqs_id, *, source=None, body="{}", reason="InvalidMessage", group="g", sent_at=100.0):
    return DeadLetter(
        sqs_message_id=sqs_id,
        group=group,
        sent_at=sent_at,
        dlq_receive_count=1,
        message_id=None,
        kind="quarantined",
        source_message_id=source or sqs_id,
        reason=reason,
        body=body,
    )


def test_dlq_retry_is_incremented_and_numbers_keep_their_exact_text():
    body = (
        '{"message_id": "m", "dlq_retry": 2, '
        '"payload": {"amount": 1234.567890123456789012, "x": 1e400, "n": 10}}'
    )
    text, retry, note = redriven_body(body)
    assert (retry, note) == (3, "")
    assert "1234.567890123456789012" in text and "1e400" in text
    assert json.loads(text, parse_float=str)["payload"] == {
        "amount": "1234.567890123456789012",
        "x": "1e400",
        "n": 10,
    }
    assert json.loads(text)["dlq_retry"] == 3


def test_a_body_without_dlq_retry_gets_1_and_non_ascii_stays_text():
    text, retry, _ = redriven_body('{"message_id": "m", "d": "東京"}')
    assert retry == 1 and "東京" in text


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("not json", "not acceptable JSON"),
        ('{"a": 1, "a": 2}', "not acceptable JSON"),  # a duplicate key must stay invalid
        ("[1, 2]", "not a JSON object"),
        ('{"dlq_retry": -1}', "not a count"),
        ('{"dlq_retry": true}', "not a count"),
        ('{"d": "\\ud800"}', "lone surrogate"),
    ],
)
def test_bodies_that_cannot_be_changed_are_sent_unchanged(body, why):
    text, retry, note = redriven_body(body)
    assert (text, retry) == (body, None) and why in note


def test_copies_sharing_a_source_are_sent_once_the_oldest():
    letters = [
        letter("b", source="s", sent_at=200),
        letter("a", source="s", sent_at=100),
        letter("c", reason="PayloadMismatch"),
    ]
    [move] = plan(letters, Filters(reason="invalidmessage"))
    assert move.sent.sqs_message_id == "a"
    assert [c.sqs_message_id for c in move.copies] == ["b", "a"]
    assert move.group == redrive_group("s") == "redrive-s"


def test_filters_by_group_id_and_age():
    old, new = letter("o", group="g1", sent_at=0), letter("n", group="g2", sent_at=990)
    now = 1000
    assert [m.source_message_id for m in plan([old, new], Filters(group="g2"), now)] == ["n"]
    assert [m.source_message_id for m in plan([old, new], Filters(ids=("o",)), now)] == ["o"]
    older = Filters(older_than_s=parse_age("5m"))
    assert [m.source_message_id for m in plan([old, new], older, now)] == ["o"]
    newer = Filters(newer_than_s=parse_age("30s"))
    assert [m.source_message_id for m in plan([old, new], newer, now)] == ["n"]
    assert Filters().empty and not older.empty


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("1.5d", 129600)]
)
def test_parse_age(text, seconds):
    assert parse_age(text) == seconds


def test_parse_age_rejects_nonsense():
    with pytest.raises(ValueError, match="not an age"):
        parse_age("soon")


def test_the_plan_says_how_a_stored_message_will_end():
    duplicate, conflict = letter("d"), letter("c", reason="PayloadMismatch")
    duplicate.stored = conflict.stored = True
    notes = {
        m.source_message_id: m.note for m in plan([duplicate, conflict], Filters(ids=("d", "c")))
    }
    assert notes == {
        "d": "already stored: will end as a duplicate",
        "c": "another body is stored under this message_id: it will be quarantined again",
    }

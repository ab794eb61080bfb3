"""events/: generated files are up to date and have the exact pipe shape (docs/contract.md)."""

import hashlib
import importlib.util
import json

import pytest
from lambda_testkit import EVENTS, RECORD_KEYS

PIPE_FILES = sorted((EVENTS / "pipe").glob("*.json"))
ATTRIBUTE_KEYS = {
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
}


def test_generated_files_are_up_to_date(capsys):
    spec = importlib.util.spec_from_file_location("generate_events", EVENTS / "generate_events.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.main(["--check"]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("path", PIPE_FILES, ids=lambda p: p.name)
def test_pipe_event_shape(path):
    records = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(records, list) and records
    for record in records:
        assert set(record) == set(RECORD_KEYS)
        assert set(record["attributes"]) == ATTRIBUTE_KEYS
        assert all(isinstance(v, str) for v in record["attributes"].values())
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"].startswith("arn:aws:sqs:us-east-1:123456789012:")
        assert record["eventSourceARN"].endswith(".fifo")
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()


def test_the_large_body_is_about_200_kb():
    size = (EVENTS / "bodies" / "valid_large_body.json").stat().st_size
    assert 190_000 <= size <= 256 * 1024


def test_every_file_is_small_enough_to_commit():
    assert all(p.stat().st_size < 300_000 for p in EVENTS.rglob("*") if p.is_file())

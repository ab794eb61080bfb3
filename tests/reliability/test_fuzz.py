"""Property-based fuzzing of Validate (reliability/fuzz.py), a smaller number of examples than
`make chaos` (10,000 per entry)."""

from __future__ import annotations

import pytest

from reliability import fuzz

EXAMPLES = 1000


@pytest.mark.parametrize("entry", ["validate", "entry"])
def test_every_input_is_valid_or_invalid_message(entry):
    outcomes = fuzz.run(EXAMPLES, entry=entry)
    assert outcomes.total() >= EXAMPLES * 0.9
    categories = {category for category, _ in outcomes.counts}
    assert categories == {
        "random-bytes",
        "lone-surrogates",
        "random-text",
        "random-json",
        "mutated-message",
        "deep-nesting",
        "huge-number",
        "nan-infinity",
        "oversize",
        "valid-message",
    }
    assert outcomes.counts[("valid-message", "invalid")] == 0
    assert outcomes.counts[("valid-message", "valid")] > 0


def test_the_property_catches_any_other_exception():
    app = fuzz.load_validate()
    from pipeline_common.errors import InvalidMessage

    class Broken:
        @staticmethod
        def lambda_handler(event, context):
            raise KeyError("body")

    with pytest.raises(KeyError):
        fuzz.check_one(Broken, InvalidMessage, fuzz.record("{}"))
    assert fuzz.check_one(app, InvalidMessage, fuzz.record("{}")) == "invalid"
    assert fuzz.check_one(app, InvalidMessage, fuzz.record(fuzz.json.dumps(fuzz.VALID))) == "valid"


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\x00",
        "\ud800",
        "[" * 100_000 + "]" * 100_000,
        '{"a": ' + "9" * 20_000 + "}",
        fuzz.json.dumps(fuzz.VALID).replace("125.5", "NaN"),
        fuzz.json.dumps(fuzz.VALID).replace("125.5", "1e999999"),
    ],
    ids=["invalid-utf8", "lone-surrogate", "deep", "huge-int", "nan", "overflow"],
)
def test_known_hard_inputs_are_invalid_messages(body):
    app = fuzz.load_validate()
    from pipeline_common.errors import InvalidMessage

    assert fuzz.check_one(app, InvalidMessage, fuzz.record(body)) == "invalid"

"""Body decoding and body_sha256 (docs/contract.md)."""

import contextlib
import hashlib
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lambda_testkit import body_text
from pipeline_common import message
from pipeline_common.errors import InvalidMessage

VALID = body_text("valid_transaction.json")


def test_decodes_an_object():
    parsed = message.decode_body(VALID)
    assert parsed["payload"]["amount"] == 125.5


def test_exact_numbers_are_decimal():
    parsed = message.decode_body(body_text("valid_float_amount.json"), exact_numbers=True)
    assert parsed["payload"]["amount"] == Decimal("1234.56789")
    assert parsed["dlq_retry"] == 0 and isinstance(parsed["dlq_retry"], int)


def test_body_sha256_is_the_sha256_of_the_canonical_json():
    parsed = message.decode_body(VALID)
    canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert message.body_sha256(parsed) == hashlib.sha256(canonical.encode()).hexdigest()


def test_reserialised_body_has_the_same_hash():
    _, first = message.fingerprint(VALID)
    _, second = message.fingerprint(body_text("valid_transaction_reordered.json"))
    _, other = message.fingerprint(body_text("same_id_different_body.json"))
    assert first == second != other


def test_non_ascii_is_hashed_as_utf8_not_escapes():
    text = body_text("valid_non_ascii.json")
    parsed, sha = message.fingerprint(text)
    assert "東京駅" in message.canonical_json(parsed)
    escaped = json.dumps(parsed, ensure_ascii=True)
    assert message.fingerprint(escaped)[1] == sha


def test_bytes_bodies_are_decoded_as_utf8():
    assert message.decode_body(VALID.encode("utf-8")) == message.decode_body(VALID)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"a": "\xff"}', "not valid UTF-8"),
        ('{"a": "\ud800"}', "lone surrogate"),
        ('{"a": "\\udc00"}', "lone surrogate"),
        ('{"a": NaN}', "NaN"),
        ('{"a": -Infinity}', "-Infinity"),
        ('{"a": 1e999}', "out of the range"),
        ('{"a": 1, "a": 2}', "duplicate key"),
        ("[1, 2]", "got a JSON array"),
        ('"text"', "got a JSON string"),
        ("null", "got a JSON null"),
        ("42", "got a JSON int"),
        ("true", "got a JSON boolean"),
        ("", "not valid JSON"),
        ('{"a": ', "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "not acceptable JSON"),
        (None, "must be a JSON string"),
        ({"already": "parsed"}, "must be a JSON string"),
    ],
)
def test_rejections(body, reason):
    with pytest.raises(InvalidMessage, match=reason):
        message.decode_body(body)


def test_a_valid_surrogate_pair_is_fine():
    assert message.decode_body('{"a": "\\ud83d\\udcb6"}') == {"a": "💶"}


def test_rejection_text_does_not_quote_the_body():
    with pytest.raises(InvalidMessage) as caught:
        message.decode_body('{"iban": "DE89370400440532013000", "x": }')
    assert "DE89" not in str(caught.value)


def test_message_id_of_never_raises():
    assert message.message_id_of("not json") is None
    assert message.message_id_of('{"message_id": 7}') is None
    assert message.message_id_of(VALID) == "0b6f2a9e-4c1d-4e8a-9f3b-7d2c5e1a8b40"


def test_mismatch_text_names_the_id_and_hash_prefixes_only():
    text = message.mismatch_text("m-1", "a" * 64, "b" * 64)
    assert "m-1" in text and "a" * 16 in text and "a" * 17 not in text


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6), st.randoms())
def test_hash_ignores_key_order_and_whitespace(obj, rnd):
    try:
        obj_text = json.dumps(obj)
        message.decode_body(obj_text)
    except InvalidMessage:
        return  # e.g. a generated lone surrogate: rejected, nothing to compare
    keys = list(obj)
    rnd.shuffle(keys)
    shuffled = json.dumps({k: obj[k] for k in keys}, indent=rnd.choice([None, 1, 4]))
    assert message.fingerprint(shuffled)[1] == message.fingerprint(obj_text)[1]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_is_either_an_object_or_invalid_message(text):
    with contextlib.suppress(InvalidMessage):
        assert isinstance(message.decode_body(text), dict)

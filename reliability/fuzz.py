"""Property-based fuzzing of Validate and of the pipeline's entry (hypothesis).

Property: every input ends *valid* (Validate returns the contract's result, JSON-serialisable
without NaN) or raises `InvalidMessage` with a non-empty reason; never any other exception.

Inputs (`bodies()`): random bytes (mostly invalid UTF-8), text with lone surrogates, random JSON
values, mutations of a valid message (a field replaced by random JSON, removed, or an extra
one), deep nesting (up to 100,000 levels), huge numbers (thousands of digits, 1e999999),
NaN/Infinity/-Infinity as text, oversize strings (up to 1 MiB), and valid messages.

Two entries are fuzzed:
- `validate`: the Validate handler called with one SQS record whose body is the input (bytes
  included), as its unit tests call it;
- `entry`: the way the pipeline feeds it: the body as the SQS ReceiveMessage result, turned into
  the pipe's record (local_aws.pipe.sqs_record), through the JSON the Step Functions interpreter
  sends to Lambda (json.dumps/json.loads), into the handler. Bytes cannot be SQS bodies there, so
  they are decoded with surrogateescape (invalid UTF-8 becomes lone surrogates).

    python -m reliability.fuzz --examples 10000     # (make chaos runs this)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
LAMBDAS = REPO / "lambdas"

# The valid sample from events/ (what the other tests send), mutated by the strategies below.
VALID = json.loads((REPO / "events" / "bodies" / "valid_transaction.json").read_text())
DESCRIPTION = json.dumps(VALID["payload"]["description"])
AMOUNT = json.dumps(VALID["payload"]["amount"])


def _splice(text: str, old: str, new: str) -> str:
    """Replace the first `old` in a serialised VALID; fail loudly if the sample changed shape
    (a silent no-op would quietly turn a strategy into "send the valid sample")."""
    if old not in text:
        raise ValueError(f"{old!r} not in the valid sample: update reliability/fuzz.py")
    return text.replace(old, new, 1)


# -- strategies ---------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
surrogate_text = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        st.characters(codec="utf-8"),
    ),
    max_size=200,
)


@st.composite
def mutated_valid(draw) -> str:
    data = json.loads(json.dumps(VALID))
    data["message_id"] = str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)), version=4))
    target = draw(st.sampled_from([data, data["payload"]]))
    key = draw(st.sampled_from(sorted(target)))
    action = draw(st.sampled_from(["replace", "remove", "extra", "keep"]))
    if action == "replace":
        target[key] = draw(json_values)
    elif action == "remove":
        del target[key]
    elif action == "extra":
        target[draw(st.text(max_size=20))] = draw(json_values)
    return json.dumps(data, ensure_ascii=draw(st.booleans()))


@st.composite
def deep_nesting(draw) -> str:
    depth = draw(st.one_of(st.integers(1, 2000), st.sampled_from([10_000, 100_000])))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    inner = '"x"' if opener == "[" else "1"
    nested = opener * depth + inner + closer * depth
    if draw(st.booleans()):  # inside a valid envelope's payload
        return _splice(json.dumps(VALID), DESCRIPTION, nested)
    return nested


@st.composite
def huge_numbers(draw) -> str:
    digits = draw(st.integers(1, 20_000))
    number = draw(
        st.sampled_from(
            [
                "9" * digits,
                "-" + "1" * digits,
                "0." + "0" * digits + "1",
                "1e" + str(digits * 100),
                "1E-" + str(digits),
                "1" * min(digits, 40) + ".5",
                "-0",
            ]
        )
    )
    field = draw(st.sampled_from(["amount", "dlq_retry", "root"]))
    if field == "root":
        return number
    text = json.dumps(VALID)
    if field == "amount":
        return _splice(text, AMOUNT, number)
    return _splice(text, '"dlq_retry": 0', f'"dlq_retry": {number}')


@st.composite
def non_finite(draw) -> str:
    word = draw(
        st.sampled_from(
            ["NaN", "Infinity", "-Infinity", "nan", "inf", "-inf", "1e309", "-1e309", "+Infinity"]
        )
    )
    space = draw(st.sampled_from(["", " ", "\n", "\t"]))
    where = draw(st.sampled_from(["amount", "dlq_retry", "extra", "list", "root"]))
    text = json.dumps(VALID)
    if where == "amount":
        return _splice(text, AMOUNT, space + word + space)
    if where == "dlq_retry":
        return _splice(text, '"dlq_retry": 0', f'"dlq_retry": {space}{word}')
    if where == "extra":
        key = draw(st.text(alphabet="abcxyz_", min_size=1, max_size=8))
        return _splice(text, '"currency"', f'"{key}": {word}, "currency"')
    if where == "list":
        count = draw(st.integers(0, 3))
        items = ", ".join(["1"] * count + [word])
        return _splice(text, DESCRIPTION, f"[{items}]")
    return space + word + space


@st.composite
def oversize(draw) -> str:
    size = draw(st.sampled_from([1, 1000, 65_536, 262_144, 1_048_576]))
    char = draw(st.sampled_from(["a", "é", "\u20ac", "\U0001f600", "\\u0000"]))
    data = json.loads(json.dumps(VALID))
    where = draw(st.sampled_from(["description", "source", "key"]))
    if where == "description":
        data["payload"]["description"] = char * size
    elif where == "source":
        data["source"] = char * size
    else:
        data["payload"][char * min(size, 100_000)] = 1
    return json.dumps(data, ensure_ascii=False)


@st.composite
def valid_messages(draw) -> str:
    data = json.loads(json.dumps(VALID))
    data["message_id"] = str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)), version=4))
    data["payload"]["amount"] = draw(
        st.decimals(min_value="0.01", max_value="1000000", places=2).map(float)
    )
    data["payload"]["description"] = draw(st.none() | st.text(max_size=100))
    data["dlq_retry"] = draw(st.integers(0, 10))
    return json.dumps(data, ensure_ascii=draw(st.booleans()))


def bodies() -> st.SearchStrategy[Any]:
    """(category, body) pairs; body is str or bytes."""
    return st.one_of(
        st.tuples(st.just("random-bytes"), st.binary(max_size=3000)),
        st.tuples(st.just("lone-surrogates"), surrogate_text),
        st.tuples(st.just("random-text"), st.text(max_size=300)),
        st.tuples(st.just("random-json"), json_values.map(json.dumps)),
        st.tuples(st.just("mutated-message"), mutated_valid()),
        st.tuples(st.just("deep-nesting"), deep_nesting()),
        st.tuples(st.just("huge-number"), huge_numbers()),
        st.tuples(st.just("nan-infinity"), non_finite()),
        st.tuples(st.just("oversize"), oversize()),
        st.tuples(st.just("valid-message"), valid_messages()),
    )


# -- the two entries ----------------------------------------------------------------------------


def load_validate():
    """lambdas/validate/app.py imported with its layer, in this process, off AWS."""
    for name, value in {
        "METRICS_NAMESPACE": "Fuzz",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_XRAY_SDK_ENABLED": "false",
    }.items():
        os.environ.setdefault(name, value)
    for folder in (LAMBDAS / "common", LAMBDAS / "validate"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(
        "fuzz_validate_app", LAMBDAS / "validate" / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(body: Any) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "fuzz-receipt-handle",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1767261598123",
            "SequenceNumber": "18890000000000000001",
            "MessageGroupId": "fuzz",
            "SenderId": "AIDAFUZZ",
            "MessageDeduplicationId": "fuzz",
            "ApproximateFirstReceiveTimestamp": "1767261598123",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:fuzz.fifo",
        "awsRegion": "us-east-1",
    }


def entry_record(body: Any) -> dict[str, Any]:
    """The record as the pipe builds it and the interpreter sends it to Lambda (JSON)."""
    from local_aws.pipes.emulator import sqs_record

    if isinstance(body, bytes):
        body = body.decode("utf-8", "surrogateescape")
    message = {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": "fuzz-receipt-handle",
        "Body": body,
        "MD5OfBody": hashlib.md5(body.encode("utf-8", "surrogatepass")).hexdigest(),
        "Attributes": {"MessageGroupId": "fuzz", "ApproximateReceiveCount": "1"},
    }
    item = sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:fuzz.fifo", "us-east-1")
    return json.loads(json.dumps(item))


class Outcomes:
    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def total(self) -> int:
        return sum(self.counts.values())


def check_one(app: Any, invalid_type: type, event: dict[str, Any]) -> str:
    """'valid' or 'invalid'; raises AssertionError (or the unexpected exception) otherwise."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            result = app.lambda_handler(event, None)
    except invalid_type as err:
        assert str(err), "InvalidMessage without a reason"
        return "invalid"
    assert isinstance(result, dict), result
    assert isinstance(result["message_id"], str) and isinstance(result["type"], str)
    assert len(result["body_sha256"]) == 64
    json.dumps(result, allow_nan=False, default=str)  # the runtime serialises it
    return "valid"


def run(examples: int, *, entry: str = "validate", seed: int | None = None) -> Outcomes:
    """Fuzz one entry with `examples` examples; raises on the first property violation."""
    app = load_validate()
    from pipeline_common.errors import InvalidMessage

    outcomes = Outcomes()
    build = record if entry == "validate" else entry_record

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed is None,
        suppress_health_check=list(HealthCheck),
    )
    @given(bodies())
    def property_(case):
        category, body = case
        outcome = check_one(app, InvalidMessage, build(body))
        if category == "valid-message":
            assert outcome == "valid", "a generated valid message was rejected"
        outcomes.counts[(category, outcome)] += 1

    if seed is not None:
        property_ = settings(derandomize=False)(property_)
        import hypothesis

        property_ = hypothesis.seed(seed)(property_)
    property_()
    return outcomes


def format_counts(entry: str, outcomes: Outcomes, seconds: float) -> str:
    categories = sorted({c for c, _ in outcomes.counts})
    lines = [f"== fuzz {entry}: {outcomes.total()} examples in {seconds:.0f} s, no other exception"]
    for category in categories:
        valid = outcomes.counts[(category, "valid")]
        invalid = outcomes.counts[(category, "invalid")]
        lines.append(
            f"  {category:18} {valid + invalid:>6}  (valid {valid}, InvalidMessage {invalid})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability.fuzz")
    parser.add_argument(
        "--examples", type=int, default=int(os.environ.get("FUZZ_EXAMPLES", 10_000))
    )
    parser.add_argument("--seed", type=int, default=None, help="default: derandomized (repeatable)")
    args = parser.parse_args(argv)
    total = 0
    for entry in ("validate", "entry"):
        started = time.monotonic()
        outcomes = run(args.examples, entry=entry, seed=args.seed)
        total += outcomes.total()
        print(format_counts(entry, outcomes, time.monotonic() - started), flush=True)
    print(f"fuzz: {total} examples, every one valid or InvalidMessage")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The largest SQS message the pipe can always hand to Step Functions, per BatchSize.

The pipe starts one execution per batch with the batch as its input: a JSON array of SQS records
(the shape of Lambda's SQS event records). StartSyncExecution refuses an input over 262,144
bytes of UTF-8 (its `input` length constraint,
https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartSyncExecution.html; the
256 KiB of https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html), and the batch
is received again and again until SQS redrives it to the DLQ. So the main queue's
MaximumMessageSize is set, per BatchSize, to the largest message size S for which a batch of
BatchSize worst-case messages of S bytes still fits. template.yaml holds the result as the
mapping MaximumMessageSizeByBatchSize (CloudFormation has no arithmetic); `--check` compares it.

What SQS counts in S (MaximumMessageSize): the body plus each message attribute's name, type
and value, in UTF-8 bytes. The worst case for S bytes, each part at its maximum:
- Body escaping. The input is JSON, so the body is escaped; AWS does not document how the
  pipe's encoder escapes. The model is the encoder of the local pipe emulator, Python's
  json.dumps: the escapes JSON requires (\\" \\\\ and control characters, 2 bytes) plus \\uXXXX
  for DEL (0x7f) and every non-ASCII character. That is at most 6 bytes per body byte, reached
  by DEL, a character SQS accepts (\\u007f); a 2-byte character takes 6 bytes, a 4-byte one 12.
  Worst body: B DEL characters, 6 B bytes. An encoder that writes UTF-8 raw (as the records in
  AWS's examples appear) is never larger character by character (2 B at most), so the bound
  holds for it too, at the price of a limit 3 times lower than that encoder alone would allow.
  It would not hold for an "HTML-safe" encoder that also writes < > & ' = as \\uXXXX.
- Message attributes. Up to 10 per message, each rendered with its four keys (stringValue or
  binaryValue, stringListValues, binaryListValues, dataType): about 90 bytes of JSON for the
  8 bytes SQS counts of a 1-letter name, the type "Binary" and a 1-byte value (base64 "AA==").
  Both candidates, no attributes and ten such attributes, are measured; the larger counts.
- Metadata that SQS does not count: the documented maxima (MessageGroupId and
  MessageDeduplicationId: 128 characters, every one of which may need escaping; a 128-bit
  SequenceNumber), and assumed bounds where AWS documents none: a receipt handle of at most
  RECEIPT_HANDLE_MAX characters, an AWSTraceHeader of at most TRACE_HEADER_MAX, a SenderId of at
  most SENDER_ID_MAX.
- JSON separators as json.dumps writes them (", " and ": "), again never fewer than AWS's.

Usage: python tools/message_size_limits.py [--check] [template.yaml]
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
MAPPING = "MaximumMessageSizeByBatchSize"
STATES_INPUT_LIMIT = 262_144
# SQS MaximumMessageSize bounds (SetQueueAttributes): 1,024 bytes to 1 MiB.
SQS_MIN_SIZE, SQS_MAX_SIZE = 1_024, 1_048_576
MAX_MESSAGE_ATTRIBUTES = 10
# Assumed bounds (AWS documents no maximum); observed values are a few hundred characters.
RECEIPT_HANDLE_MAX = 1_024
TRACE_HEADER_MAX = 256
SENDER_ID_MAX = 128
ID_MAX = 128  # MessageGroupId / MessageDeduplicationId
# The longest values of the other fields (region names are under 20 characters, queue names
# at most 80, partitions at most 10).
REGION = "x" * 20
SOURCE_ARN = f"arn:{'x' * 10}:sqs:{REGION}:123456789012:{'q' * 80}"


# The most bytes one UTF-8 byte of a body takes in the model's JSON: DEL written \u007f.
ESCAPED_BYTES_PER_BYTE = 6


def worst_body(size: int) -> str:
    """A body of `size` UTF-8 bytes whose JSON escaping is as long as possible (6 bytes each)."""
    return "\x7f" * size


def worst_message_attributes() -> dict[str, dict[str, Any]]:
    """Ten attributes of the fewest counted bytes each (1-letter name, Binary, 1-byte value)."""
    return {
        chr(ord("a") + i): {"DataType": "Binary", "BinaryValue": b"\0"}
        for i in range(MAX_MESSAGE_ATTRIBUTES)
    }


def counted_attribute_bytes(attributes: dict[str, dict[str, Any]]) -> int:
    """What SQS counts of message attributes: name, type and value, in bytes."""
    total = 0
    for name, value in attributes.items():
        data = value.get("BinaryValue") or value.get("StringValue", "").encode()
        total += len(name.encode()) + len(value["DataType"].encode()) + len(data)
    return total


def worst_message(size: int, with_attributes: bool) -> dict[str, Any]:
    """A ReceiveMessage result of `size` counted bytes with every uncounted field at its longest."""
    attributes = worst_message_attributes() if with_attributes else {}
    body_size = size - counted_attribute_bytes(attributes)
    return {
        "MessageId": "00000000-0000-0000-0000-000000000000",
        "ReceiptHandle": "R" * RECEIPT_HANDLE_MAX,
        "MD5OfBody": "0" * 32,
        "Body": worst_body(body_size),
        "Attributes": {
            "ApproximateReceiveCount": "9" * 10,
            "AWSTraceHeader": "T" * TRACE_HEADER_MAX,
            "SentTimestamp": "9" * 13,
            "SequenceNumber": "9" * 39,  # 2**128 has 39 digits
            "MessageGroupId": '"' * ID_MAX,
            "SenderId": "S" * SENDER_ID_MAX,
            "MessageDeduplicationId": '"' * ID_MAX,
            "ApproximateFirstReceiveTimestamp": "9" * 13,
        },
        "MessageAttributes": attributes,
    }


def record(message: dict[str, Any], source_arn: str, region: str) -> dict[str, Any]:
    """The record the pipe hands over for one message: the shape of an SQS record in AWS's
    example pipe event (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-sqs.html),
    which a test compares with the local pipe emulator's record."""

    def attribute(value: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "StringValue" in value:
            out["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        out["stringListValues"] = []
        out["binaryListValues"] = []
        out["dataType"] = value["DataType"]
        return out

    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message["Attributes"]),
        "messageAttributes": {n: attribute(v) for n, v in message["MessageAttributes"].items()},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": source_arn,
        "awsRegion": region,
    }


def input_bytes(records: list[dict[str, Any]]) -> int:
    """Size of the execution input the pipe sends for these records."""
    return len(json.dumps(records).encode())


def worst_batch_bytes(batch_size: int, message_size: int) -> int:
    # json.dumps joins list items with ", ", so n copies of a record take exactly n times its
    # one-item list "[r]" (n*len(r) + 2*(n-1) + 2): one record is serialised, not the batch of
    # up to 10 x 1.5 MB (tests/workflow/test_message_size_limits.py checks the identity).
    return batch_size * max(
        input_bytes([record(worst_message(message_size, attrs), SOURCE_ARN, REGION)])
        for attrs in (False, True)
    )


def limit(batch_size: int) -> int:
    """The largest MaximumMessageSize whose worst-case batch fits the Step Functions input."""
    low, high = SQS_MIN_SIZE, SQS_MAX_SIZE
    if worst_batch_bytes(batch_size, low) > STATES_INPUT_LIMIT:
        raise ValueError(f"BatchSize {batch_size}: even {low}-byte messages may not fit")
    while low < high:  # the batch grows with the message size: bisect
        middle = (low + high + 1) // 2
        if worst_batch_bytes(batch_size, middle) <= STATES_INPUT_LIMIT:
            low = middle
        else:
            high = middle - 1
    return low


def batch_sizes(template: dict[str, Any]) -> list[int]:
    return [int(v) for v in template["Parameters"]["BatchSize"]["AllowedValues"]]


def mapping(template: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {str(n): {"Bytes": limit(n)} for n in batch_sizes(template)}


def load(template_path: Path) -> dict[str, Any]:
    template, matches = decode(str(template_path))
    if matches:
        raise SystemExit("\n".join(str(m) for m in matches))
    return template


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [a for a in argv[1:] if a != "--check"]
    template = load(Path(paths[0]) if paths else ROOT / "template.yaml")
    expected = mapping(template)
    if check:
        found = template.get("Mappings", {}).get(MAPPING)
        found = {str(k): {"Bytes": int(v["Bytes"])} for k, v in (found or {}).items()}
        if found != expected:
            print(f"template.yaml: Mappings.{MAPPING} is not current; expected:")
        else:
            print(f"template.yaml: Mappings.{MAPPING} is current")
            return 0
    print(f"  {MAPPING}:")
    for key, value in expected.items():
        print(f'    "{key}": {{Bytes: {value["Bytes"]}}}')
    return 1 if check else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

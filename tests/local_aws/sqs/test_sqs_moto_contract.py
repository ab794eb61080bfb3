"""What local_aws/sqs relies on in moto 5.2.5: fails when an upgrade moves it.

Each patch wraps (functools.wraps, so `inspect.unwrap` finds moto's function) or replaces
(`.replaces`) a moto function; these tests pin the signatures and the model attributes the
patches read, so a moto upgrade that changes them fails here, by name, before it silently
changes the endpoint's behaviour.
"""

from __future__ import annotations

import inspect
import threading

import pytest
from moto.core import serialize
from moto.core.errors import ErrorShape
from moto.sqs import models, responses

import local_aws.sqs as local_sqs


@pytest.fixture(scope="module", autouse=True)
def installed():
    local_sqs.install()


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


@pytest.mark.parametrize(
    ("owner", "name", "parameters"),
    [
        (
            models.SQSBackend,
            "send_message",
            [
                "self",
                "queue_name",
                "message_body",
                "message_attributes",
                "delay_seconds",
                "deduplication_id",
                "group_id",
                "system_attributes",
                "validate_group_id",
            ],
        ),
        (models.SQSBackend, "send_message_batch", ["self", "queue_name", "entries"]),
        (models.SQSBackend, "create_queue", ["self", "name", "tags", "kwargs"]),
        (models.SQSBackend, "set_queue_attributes", ["self", "queue_name", "attributes"]),
        (
            models.SQSBackend,
            "change_message_visibility",
            ["self", "queue_name", "receipt_handle", "visibility_timeout"],
        ),
        (models.Queue, "add_message", ["self", "message"]),
        (models.Queue, "delete_message", ["self", "receipt_handle"]),
        (models.Message, "mark_received", ["self", "visibility_timeout"]),
        (serialize, "get_error_model", ["exception", "default_service_model"]),
        (responses.SQSResponse, "receive_message", ["self"]),
        (responses.SQSResponse, "send_message_batch", ["self"]),
        (responses.SQSResponse, "delete_message_batch", ["self"]),
        (responses.SQSResponse, "change_message_visibility_batch", ["self"]),
    ],
)
def test_wrapped_moto_functions_keep_their_signature(owner, name, parameters):
    patched = getattr(owner, name)
    original = inspect.unwrap(patched)
    assert original is not patched, f"{patched.__qualname__} is not wrapped"
    assert original.__module__.startswith("moto."), original.__module__
    assert _parameters(original) == parameters


@pytest.mark.parametrize(
    ("owner", "name", "parameters"),
    [
        (
            models.SQSBackend,
            "receive_message",
            [
                "self",
                "queue_name",
                "count",
                "wait_seconds_timeout",
                "visibility_timeout",
                "message_attribute_names",
            ],
        ),
        (models.SQSBackend, "delete_message_batch", ["self", "queue_name", "receipts"]),
    ],
)
def test_replaced_moto_functions_keep_the_signature_their_callers_use(owner, name, parameters):
    replacement = getattr(owner, name)
    assert replacement.replaces.__module__ == "moto.sqs.models"
    assert _parameters(replacement.replaces) == parameters == _parameters(replacement)


def test_the_model_attributes_the_patches_read_exist():
    queue = models.Queue("contract-probe.fifo", "us-east-1", "123456789012", FifoQueue="true")
    for name in (
        "_messages",
        "deleted_messages",
        "pending_messages",
        "dead_letter_queue",
        "redrive_policy",
        "message_retention_period",
        "maximum_message_size",
        "deduplication_scope",
        "fifo_queue",
        "lambda_event_source_mappings",
        "queue_arn",
    ):
        assert hasattr(queue, name), name
    assert isinstance(queue._messages_lock, type(threading.Condition()))
    message = models.Message("id", "body")
    for name in (
        "visible_at",
        "delayed_until",
        "sent_timestamp",
        "approximate_receive_count",
        "group_id",
        "deduplication_id",
        "sequence_number",
        "receipt_handle",
        "all_receipt_handles",
        "message_attributes",
    ):
        assert hasattr(message, name), name
    assert callable(models._filter_message_attributes)
    assert models.MAXIMUM_MESSAGE_LENGTH == 1_048_576
    shape = ErrorShape(
        shape_name="Probe",
        shape_model={"exception": True, "type": "structure", "members": {}, "error": {"code": "C"}},
    )
    assert (shape.name, shape.error_code) == ("Probe", "C")

"""EMF lines: the shape CloudWatch turns into metrics, with no API call."""

import pytest
from lambda_testkit import stdout_lines
from pipeline_common.metrics import LAMBDA_METRICS, Metrics


@pytest.mark.parametrize("name", sorted(LAMBDA_METRICS))
def test_emf_line_shape(capsys, name):
    Metrics("Team/Pipeline", function="save").emit(name, message_id="m-1")
    (line,) = stdout_lines(capsys)
    directive = line["_aws"]
    assert isinstance(directive["Timestamp"], int)
    assert directive["Timestamp"] > 1_600_000_000_000  # milliseconds
    assert directive["CloudWatchMetrics"] == [
        {
            "Namespace": "Team/Pipeline",
            "Dimensions": [[]],
            "Metrics": [{"Name": name, "Unit": "Count"}],
        }
    ]
    assert line[name] == 1
    assert line["function"] == "save"
    assert line["message_id"] == "m-1"


def test_unknown_metric_names_are_refused():
    with pytest.raises(ValueError, match="MessageSaved"):
        Metrics("Team/Pipeline").emit("MessageSaved")


def test_a_namespace_is_required():
    with pytest.raises(ValueError):
        Metrics("")

"""Configuration: read once at import, failing fast with the name of the variable."""

import pytest
from lambda_testkit import load_function
from pipeline_common import config
from pipeline_common.errors import ConfigurationError


def test_require_returns_the_value(monkeypatch):
    monkeypatch.setenv("SOME_VAR", " value ")
    assert config.require("SOME_VAR") == "value"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_require_names_a_missing_or_blank_variable(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("SOME_VAR", raising=False)
    else:
        monkeypatch.setenv("SOME_VAR", value)
    with pytest.raises(ConfigurationError, match="SOME_VAR"):
        config.require("SOME_VAR")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, False), ("", False), ("true", True), ("TRUE", True), ("1", True), ("no", False)],
)
def test_flag(monkeypatch, raw, expected):
    monkeypatch.delenv("A_FLAG", raising=False)
    if raw is not None:
        monkeypatch.setenv("A_FLAG", raw)
    assert config.flag("A_FLAG") is expected


def test_flag_rejects_anything_else(monkeypatch):
    monkeypatch.setenv("A_FLAG", "maybe")
    with pytest.raises(ConfigurationError, match="A_FLAG"):
        config.flag("A_FLAG")


@pytest.mark.parametrize(("raw", "expected"), [(None, 0), ("", 0), ("0", 0), ("30", 30)])
def test_non_negative_int(monkeypatch, raw, expected):
    monkeypatch.delenv("DAYS", raising=False)
    if raw is not None:
        monkeypatch.setenv("DAYS", raw)
    assert config.non_negative_int("DAYS") == expected


@pytest.mark.parametrize("raw", ["-1", "seven", "1.5"])
def test_non_negative_int_rejects(monkeypatch, raw):
    monkeypatch.setenv("DAYS", raw)
    with pytest.raises(ConfigurationError, match="DAYS"):
        config.non_negative_int("DAYS")


@pytest.mark.parametrize(
    ("function", "variable"),
    [
        ("validate", "METRICS_NAMESPACE"),
        ("check_idempotency", "METRICS_NAMESPACE"),
        ("check_idempotency", "TABLE_NAME"),
        ("save", "METRICS_NAMESPACE"),
        ("save", "TABLE_NAME"),
        ("delete", "METRICS_NAMESPACE"),
    ],
)
def test_a_function_fails_at_import_naming_the_missing_variable(monkeypatch, function, variable):
    # GIVEN the function's environment without one required variable
    monkeypatch.delenv(variable)
    # WHEN the runtime imports app.py (cold start) THEN it fails with the variable's name
    with pytest.raises(ConfigurationError, match=variable):
        load_function(function)


def test_save_rejects_a_malformed_ttl_at_import(monkeypatch):
    monkeypatch.setenv("IDEMPOTENCY_TTL_DAYS", "-3")
    with pytest.raises(ConfigurationError, match="IDEMPOTENCY_TTL_DAYS"):
        load_function("save")


def test_log_payloads_must_be_a_boolean(monkeypatch):
    monkeypatch.setenv("LOG_PAYLOADS", "sometimes")
    with pytest.raises(ConfigurationError, match="LOG_PAYLOADS"):
        load_function("validate")

"""Environment configuration.

Each function's app.py reads its settings once, at import (cold start), so a missing or malformed
variable fails the very first invocation with a ConfigurationError naming the variable, instead of
failing later in the middle of a message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import ConfigurationError

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def require(name: str) -> str:
    """The value of a required variable; ConfigurationError naming it when unset or blank."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"required environment variable {name} is not set")
    return value


def optional(name: str, default: str = "") -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def flag(name: str, default: bool = False) -> bool:
    """A boolean variable: true/false, 1/0, yes/no, on/off (any case); unset or blank = default."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigurationError(f"environment variable {name} must be true or false, got {raw!r}")


def non_negative_int(name: str, default: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigurationError(
            f"environment variable {name} must be an integer >= 0, got {raw!r}"
        )
    return value


@dataclass(frozen=True)
class CommonSettings:
    """The variables every function reads (docs/contract.md)."""

    metrics_namespace: str
    log_payloads: bool


def common_settings() -> CommonSettings:
    return CommonSettings(
        metrics_namespace=require("METRICS_NAMESPACE"),
        log_payloads=flag("LOG_PAYLOADS", default=False),
    )

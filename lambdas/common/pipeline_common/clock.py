"""UTC timestamps in one format for logs and stored items."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_iso(epoch_seconds: float | None = None) -> str:
    """ISO-8601 UTC with milliseconds and a Z suffix, e.g. 2025-01-31T12:00:00.123Z."""
    moment = datetime.fromtimestamp(time.time() if epoch_seconds is None else epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

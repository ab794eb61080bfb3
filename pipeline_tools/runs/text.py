"""Long texts (state inputs, outputs, causes) cut for display."""

from __future__ import annotations

PREVIEW_CHARS = 160  # inputs/outputs are cut to this unless full=True


def preview(text: str | None, limit: int = PREVIEW_CHARS) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"

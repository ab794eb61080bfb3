"""X-Amzn-Trace-Id headers, parsed and built by aws-xray-sdk's TraceHeader (the one place).

The header format (Root, Parent, Sampled): https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
"""

from __future__ import annotations

import secrets

from aws_xray_sdk.core.models.trace_header import TraceHeader
from aws_xray_sdk.core.models.traceid import TraceId


def parse(header: str | None) -> TraceHeader:
    """The header's fields; spaces around `;` are tolerated (the SDK itself does not strip them)."""
    return TraceHeader.from_header_str(";".join(p.strip() for p in (header or "").split(";")))


def trace_root(header: str | None) -> str | None:
    """The `Root=` of a header, or the header itself when it is a bare trace id (`1-…`)."""
    text = (header or "").strip()
    if text.startswith("1-") and "=" not in text.split(";")[0]:
        return text.split(";")[0]
    return parse(text).root or None


def trace_parent(header: str | None) -> str | None:
    return parse(header).parent or None


def new_segment_id() -> str:
    """A segment id: 16 hex digits."""
    return secrets.token_hex(8)


def child_header(caller: str | None = None, parent_id: str | None = None) -> str:
    """The caller's root (or a new one), the given parent (or a new one), the caller's
    sampling decision (default sampled): what a traced service passes to what it calls."""
    fields = parse(caller)
    sampled = fields.sampled if fields.sampled is not None else 1
    return TraceHeader(
        root=fields.root or TraceId().to_id(),
        parent=parent_id or new_segment_id(),
        sampled=sampled,
    ).to_header_str()


def new_root_header() -> str:
    """A new trace (root only, sampled), as a traced service would start one."""
    return TraceHeader(root=TraceId().to_id(), sampled=1).to_header_str()

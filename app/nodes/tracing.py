"""Trace events: appended to checkpointed state and emitted live on the custom stream.

Studio (`stream_mode="custom"`), the CLI and notebooks all see the same event dicts.
"""

from __future__ import annotations

from typing import Any

from app.safety.secrets import scrub
from app.state_base import now_iso


def make_event(event: str, step: str, **detail: Any) -> dict[str, Any]:
    # Scrubbed here so no node, tool step or not, can stream or store a secret in an event.
    return scrub({"ts": now_iso(), "event": event, "step": step, **detail})


def emit(event: str, step: str, **detail: Any) -> dict[str, Any]:
    """Build an event, stream it now, and return it so the node can add it to `trace`."""
    record = make_event(event, step, **detail)
    stream_live(record)
    return record


def stream_live(record: dict[str, Any]) -> None:
    try:
        from langgraph.config import get_stream_writer  # only where a graph runs

        get_stream_writer()(record)
    except RuntimeError:
        # Called outside a graph run (unit tests of a role): nothing is listening.
        pass

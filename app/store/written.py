"""Which checkpoint a run of the graph saved last.

The Python API reads a run back after each stop. A run's trace, draft, matches and facts are
rebuilt from its stored writes (they are DeltaChannels, app/nodes/channels.py), which costs
more than the rest of the read together; the graph that just ran holds the same values in
memory. When the run's newest checkpoint is the last one that very call of the graph saved,
nothing else has written to the run since, and those values are the stored ones
(app/service/runs.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# The checkpoint ids saved inside `recording()`, newest last. LangGraph saves checkpoints on
# its own threads, which run in a copy of the caller's context: the list is the caller's.
_SAVED: ContextVar[list[tuple[str, str]] | None] = ContextVar("checkpoints_saved", default=None)


class RecordsSaves:
    """Mixed into the store's savers, ahead of LangGraph's saver class: each checkpoint saved
    inside `recording()` is added to that block's list."""

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        saved = super().put(config, checkpoint, metadata, new_versions)  # type: ignore[misc]
        record = _SAVED.get()
        conf = config["configurable"]
        if record is not None and not conf.get("checkpoint_ns"):  # the run, not a subgraph
            record.append((str(conf["thread_id"]), checkpoint["id"]))
        return saved


@contextmanager
def recording() -> Iterator[list[tuple[str, str]]]:
    """The (thread, checkpoint id) pairs the store's saver saves inside this block."""
    saved: list[tuple[str, str]] = []
    token = _SAVED.set(saved)
    try:
        yield saved
    finally:
        _SAVED.reset(token)

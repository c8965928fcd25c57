"""The graphs' state schema: HarnessState with its `WritesOnly` keys as LangGraph DeltaChannels.

A DeltaChannel keeps nothing in the checkpoint (only a snapshot every `SNAPSHOT_EVERY` updates)
and rebuilds its value from the writes the saver keeps anyway, walking the checkpoint's
ancestors (`get_delta_channel_history`, implemented by the SQLite, PostgreSQL and in-memory
savers). DeltaChannel is beta in LangGraph 1.2; it lives here, away from app/state.py, because
importing it loads the graph machinery that `harness list` and `show` do without.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Annotated, Any

from langgraph._internal._typing import MISSING
from langgraph.channels.delta import DeltaChannel
from typing_extensions import TypedDict

from app.state import HarnessState, WritesOnly

# Updates between full snapshots: bounds the writes replayed to read a value. A run has ~40
# checkpoints with 8 revisions, so a run never snapshots and each value is stored once.
SNAPSHOT_EVERY = 100


class LastWriteChannel(DeltaChannel):
    """A DeltaChannel whose value is its last write, and which has no value before its first
    one (a stock DeltaChannel starts at its type's empty value): `draft` stays absent from the
    state until a draft exists, as with a plain key."""

    def from_checkpoint(self, checkpoint: Any) -> LastWriteChannel:
        new = super().from_checkpoint(checkpoint)
        if checkpoint is MISSING or checkpoint is None:
            new.value = MISSING
        return new


def channel_for(marker: WritesOnly) -> DeltaChannel:
    def batch(value: Any, updates: list[Any]) -> Any:
        return marker.fold(value, list(updates))

    kind = LastWriteChannel if marker.reducer is None else DeltaChannel
    return kind(batch, snapshot_frequency=SNAPSHOT_EVERY)


@cache
def graph_state() -> type:
    """HarnessState, same name and keys, as the graphs compile it."""
    fields = {}
    for key, hint in typing.get_type_hints(HarnessState, include_extras=True).items():
        marker = WritesOnly.of(hint)
        fields[key] = Annotated[hint.__origin__, channel_for(marker)] if marker else hint
    schema = TypedDict("HarnessState", fields, total=False)  # type: ignore[operator]
    schema.__doc__ = HarnessState.__doc__
    schema.__module__ = HarnessState.__module__
    return schema

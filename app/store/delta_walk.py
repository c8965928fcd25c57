"""Rebuilding DeltaChannels on SQLite without decoding every ancestor checkpoint whole.

LangGraph's SQLite saver finds a DeltaChannel's seed by walking the checkpoint's ancestors and
decoding each one entirely (SQLite has no JSONB to look inside), which for this graph mostly
means building every `messages` object of every ancestor: a run with 8 revisions took ~10 ms
per `get_state` instead of ~1 (docs/benchmarks.md, "State size"). Here the walk decodes an
ancestor's msgpack with its extension values left packed, and decodes a channel's value in
full only when the walk reads it (a seed). Everything else the saver decodes as usual.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import ormsgpack
from langgraph.checkpoint.base import DeltaChannelHistory
from langgraph.checkpoint.sqlite import SqliteSaver

from app.store.light_decode import OPTION, keep_packed
from app.store.serde import uncompressed
from app.store.written import RecordsSaves


class _LazyValues(dict):
    """A checkpoint's `channel_values`, each decoded in full when it is read."""

    def __init__(self, raw: Mapping[str, Any], decode: Any):
        super().__init__(raw)
        self._decode = decode

    def __getitem__(self, key: str) -> Any:
        return self._decode(super().__getitem__(key))

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default


class _WalkSerde:
    """The saver's serializer, lazy about checkpoints and exact about everything else."""

    def __init__(self, serde: Any):
        self.serde = serde

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        type_, packed = uncompressed(data)
        if type_ != "msgpack":
            return self.serde.loads_typed(data)
        raw = ormsgpack.unpackb(packed, ext_hook=keep_packed, option=OPTION)
        if isinstance(raw, dict) and "channel_values" in raw and "channel_versions" in raw:
            raw["channel_values"] = _LazyValues(raw["channel_values"] or {}, self._exact)
            return raw
        return self.serde.loads_typed(("msgpack", packed))  # a write: decoded as usual

    def _exact(self, value: Any) -> Any:
        return self.serde.loads_typed(("msgpack", ormsgpack.packb(value, option=OPTION)))


class HarnessSqliteSaver(RecordsSaves, SqliteSaver):
    def get_delta_channel_history(
        self, *, config: Any, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        walker = copy.copy(self)  # same connection and lock
        walker.serde = _WalkSerde(self.serde)
        return SqliteSaver.get_delta_channel_history(walker, config=config, channels=channels)

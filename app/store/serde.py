"""How the store serializes checkpoints and writes: LangGraph's own serializer, with large values
zlib-compressed.

A run's checkpoints and writes are mostly text (drafts, excerpts, facts, trace events, the
gate's request with the draft twice in it) and LangGraph's version bookkeeping (the same
53-character version strings repeated for every channel and node); zlib stores them in about a
third (docs/benchmarks.md, "State size"). Compressed values carry their own type tag
(`msgpack+zlib`), so rows written before this keep loading as they are.
"""

from __future__ import annotations

import zlib
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from app.store.compression import SUFFIX, uncompressed

__all__ = ["SUFFIX", "CompressedSerializer", "uncompressed"]

# Below this a value is a status, a version or a short record: not worth the CPU.
MIN_BYTES = 512
LEVEL = 6


class CompressedSerializer(JsonPlusSerializer):
    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        type_, data = super().dumps_typed(obj)
        if type_ == "msgpack" and len(data) >= MIN_BYTES:
            packed = zlib.compress(data, LEVEL)
            if len(packed) < len(data):
                return type_ + SUFFIX, packed
        return type_, data

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        return super().loads_typed(uncompressed(data))

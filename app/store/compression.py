"""The store's compressed value format (`msgpack+zlib`, app/store/serde.py), read back without
LangGraph: the light reader of SQLite rows (app/store/sqlite_rows.py) needs it too."""

from __future__ import annotations

import zlib

SUFFIX = "+zlib"


def uncompressed(data: tuple[str, bytes]) -> tuple[str, bytes]:
    """A stored (type, bytes) pair as LangGraph's serializer wrote it before compression."""
    type_, payload = data
    if type_.endswith(SUFFIX):
        return type_[: -len(SUFFIX)], zlib.decompress(payload)
    return type_, payload

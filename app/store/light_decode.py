"""Decoding stored checkpoints and writes without LangGraph's serializer.

LangGraph's `JsonPlusSerializer` writes msgpack with extension types for objects; decoding one
builds the object, which means importing its class: a chat message loads langchain-core, an
interrupt `langgraph.types` (with langchain-core's tracers and langsmith), and importing the
serializer itself loads langchain-core (~0.5 s here). The commands that only print runs decode
the few objects our state holds into plain stand-ins instead; anything else raises
`NeedsSaver`, and the caller reads the run through LangGraph as before.

The extension codes and layouts are LangGraph's (langgraph/checkpoint/serde/jsonplus.py,
`_msgpack_default` and `_create_msgpack_ext_hook`), copied because importing them is the cost.
"""

from __future__ import annotations

import copy
import zlib
from dataclasses import dataclass
from typing import Any

import ormsgpack

from app.store.compression import uncompressed

EXT_CONSTRUCTOR_KW_ARGS = 2
EXT_PYDANTIC_V2 = 5
EXT_DELTA_SNAPSHOT = 7
OPTION = ormsgpack.OPT_NON_STR_KEYS
# The chat messages LangGraph's serializer rebuilds (its SAFE_MSGPACK_TYPES); any other class
# is left to it.
MESSAGE_MODULE = "langchain_core.messages."


class NeedsSaver(Exception):
    """A stored value only LangGraph's serializer can decode: read the run through it."""


@dataclass(frozen=True)
class StoredInterrupt:
    """A pending interrupt as read here: LangGraph's `Interrupt` has the same two fields, but
    decoding the real class imports `langgraph.types`, and with it langchain-core's tracers and
    langsmith (0.3-0.4 s), for a record of two plain values."""

    value: Any
    id: str


@dataclass(frozen=True)
class StoredOverwrite:
    """LangGraph's `Overwrite` (a write that replaces a reducer's value, as `intake` does for
    the trace of a new run on the thread), read without importing `langgraph.types`."""

    value: Any


@dataclass(frozen=True)
class StoredSnapshot:
    """LangGraph's `_DeltaSnapshot`: a DeltaChannel's whole value, saved in a checkpoint."""

    value: Any


@dataclass(frozen=True)
class StoredMessage:
    """A chat message as stored: its class and the `model_dump()` it was saved as. It prints
    (`json_default`, `--json`) as the message does: rebuilding a message from its dump and
    dumping it again gives the same dict (tests/unit/test_sqlite_rows.py)."""

    module: str
    name: str
    data: dict[str, Any]

    def model_dump(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)


def graph_standin(module: str, name: str, kwargs: Any) -> Any:
    """LangGraph's `Interrupt` or `Overwrite`, stored as (module, class, kwargs), as its
    stand-in; None for any other class."""
    if (module, name) == ("langgraph.types", "Interrupt"):
        return StoredInterrupt(kwargs["value"], kwargs["id"])
    if (module, name) == ("langgraph.types", "Overwrite"):
        return StoredOverwrite(kwargs["value"])
    return None


def keep_packed(code: int, data: bytes) -> ormsgpack.Ext:
    """An ext hook that leaves extension values packed, for a decode that reads only some."""
    return ormsgpack.Ext(code, data)


class _Decoder:
    """The extension hook for one decode. ormsgpack turns an error raised in a hook into a
    bare ValueError, so an unknown type is noted here and raised after the decode."""

    def __init__(self) -> None:
        self.unknown: list[str] = []

    def unpack(self, data: bytes) -> Any:
        return ormsgpack.unpackb(data, ext_hook=self.hook, option=OPTION)

    def hook(self, code: int, data: bytes) -> Any:
        if code == EXT_DELTA_SNAPSHOT:
            return StoredSnapshot(self.unpack(data))
        if code == EXT_CONSTRUCTOR_KW_ARGS:
            standin = graph_standin(*self.unpack(data)[:3])
            if standin is not None:
                return standin
        elif code == EXT_PYDANTIC_V2:
            module, name, kwargs = self.unpack(data)[:3]
            if module.startswith(MESSAGE_MODULE) and isinstance(kwargs, dict):
                return StoredMessage(module, name, kwargs)
        self.unknown.append(f"extension type {code}")
        return None


def _decoded(data: bytes) -> Any:
    decoder = _Decoder()
    try:
        value = decoder.unpack(data)
    except ValueError as exc:  # damaged, or a layout not ours: the saver says which
        raise NeedsSaver(str(exc)) from None
    if decoder.unknown:
        raise NeedsSaver(decoder.unknown[0])
    return value


def loads(data: tuple[str, bytes | None], *, shallow: bool = False) -> Any:
    """A stored (type, bytes) pair, decoded; `shallow` leaves extension values packed
    (`ormsgpack.Ext`), for a checkpoint of which only some values are read (`deep`)."""
    try:
        type_, payload = uncompressed(data) if data[1] is not None else data
    except zlib.error as exc:
        raise NeedsSaver(str(exc)) from None
    if type_ == "null":
        return None
    if type_ == "bytes":
        return payload
    if type_ == "bytearray":
        return bytearray(payload or b"")
    if type_ != "msgpack":
        raise NeedsSaver(f"serialization type {type_}")  # json, pickle: older or custom rows
    if shallow:
        return ormsgpack.unpackb(payload, ext_hook=keep_packed, option=OPTION)
    return _decoded(payload)


def deep(value: Any) -> Any:
    """A value of a `shallow` decode, decoded in full."""
    return _decoded(ormsgpack.packb(value, option=OPTION))

"""Read a run's current state straight from its latest checkpoint, without the compiled graph.

`harness list` and `harness show` only look at runs. Building the graph to call `get_state`
means importing `langgraph.graph` (about 1 s of CPU per process, langsmith and the SDK
included), which is most of what those commands cost. For the checkpoints a run usually sits
on - between steps, waiting at the gate, or finished - the snapshot is simple to read from the
saver alone: the values are the state channels, the pending interrupt is the lone
`__interrupt__` write, and the next steps are the nodes whose `branch:to:<node>` trigger is
set and newer than what the node has seen (LangGraph's own rule, `pregel._algo._triggers`).

Anything else (a step's writes saved without its checkpoint, a decision being applied, fan-out
tasks in flight, subgraphs) returns None and the caller asks the graph. A conformance test
compares this reader with `get_state` on every checkpoint of every kind of run
(tests/unit/test_snapshot_reader.py).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ormsgpack

from app.state_base import REDUCER_KEYS, WRITES_ONLY_KEYS, WritesOnly
from app.store.light_decode import (
    EXT_CONSTRUCTOR_KW_ARGS,
    OPTION,
    StoredInterrupt,
    StoredOverwrite,
    StoredSnapshot,
    graph_standin,
)
from app.store.sqlite_rows import SqliteRows

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

__all__ = ["Computed", "StoredInterrupt", "StoredOverwrite", "StoredState", "read_latest"]

# LangGraph's channel names (langgraph/_internal/_constants.py, graph/state.py); copied rather
# than imported, because importing them loads the graph machinery this module exists to avoid.
START = "__start__"
INTERRUPT = "__interrupt__"
TASKS = "__pregel_tasks"
BRANCH_TO = "branch:to:"
OVERWRITE = "__overwrite__"


def _light_hook(stock: Callable[[int, bytes], Any]) -> Callable[[int, bytes], Any]:
    def hook(code: int, data: bytes) -> Any:
        if code == EXT_CONSTRUCTOR_KW_ARGS:
            decoded = ormsgpack.unpackb(data, ext_hook=hook, option=OPTION)
            standin = graph_standin(*decoded[:3])
            if standin is not None:
                return standin
        return stock(code, data)

    return hook


def _reader(saver: BaseCheckpointSaver | SqliteRows) -> BaseCheckpointSaver | SqliteRows:
    """The same saver (same connection), decoding interrupts as `StoredInterrupt`. Savers with
    another serializer than LangGraph's default are read as they are, and so are SQLite rows
    read without LangGraph (app/store/sqlite_rows.py), which decode that way already."""
    if isinstance(saver, SqliteRows):
        return saver
    # A saver exists: LangGraph is loaded already.
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from app.store.serde import CompressedSerializer

    serde = saver.serde
    stock = getattr(serde, "_unpack_ext_hook", None)
    if type(serde) not in (JsonPlusSerializer, CompressedSerializer) or stock is None:
        return saver
    reader = copy.copy(saver)
    light = copy.copy(serde)  # every setting as configured, one hook replaced
    light._unpack_ext_hook = _light_hook(stock)
    reader.serde = light
    return reader


def _snapshot_value(value: Any) -> Any:
    """A stored value, unwrapped if it is a DeltaChannel snapshot (LangGraph's `_DeltaSnapshot`,
    or the stand-in SQLite rows decode it to). LangGraph's class is looked up, not imported: if
    its module is not loaded, no such object exists."""
    types = sys.modules.get("langgraph.checkpoint.serde.types")
    if isinstance(value, StoredSnapshot) or (types and isinstance(value, types._DeltaSnapshot)):
        return value.value
    return value


@dataclass(frozen=True)
class Computed:
    """A run's state as its graph just computed it in memory, and the checkpoint that call saved
    it as (app/store/written.py): the same values the store would rebuild for that checkpoint."""

    checkpoint_id: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class StoredState:
    values: dict[str, Any]
    next: tuple[str, ...]
    interrupt_value: Any = None
    interrupt_id: str | None = None
    checkpoint_id: str | None = None


# Keys checkpointed as their writes only (LangGraph DeltaChannels, app/nodes/channels.py), with
# their markers. State keys with a reducer (REDUCER_KEYS) show as an empty value of their type
# before anything was written, as LangGraph shows them.
WRITES_ONLY: dict[str, WritesOnly] = {key: marker for key, (_t, marker) in WRITES_ONLY_KEYS.items()}


def _rebuilt(
    saver: BaseCheckpointSaver | SqliteRows, config: dict[str, Any], checkpoint: dict[str, Any]
) -> dict[str, Any]:
    """The `WritesOnly` keys' values at this checkpoint, as LangGraph's DeltaChannel rebuilds
    them (`pregel._checkpoint.channels_from_checkpoint`): a value the checkpoint holds itself
    (a snapshot, or a plain value from before the key was a DeltaChannel) is the value; a key
    never written has none; the others are the nearest snapshot (or nothing) in the
    checkpoint's ancestors, then every write since, oldest first."""
    markers = WRITES_ONLY
    stored = checkpoint.get("channel_values") or {}
    values: dict[str, Any] = {}
    walk = []
    for key in markers:
        if key in stored:
            values[key] = _snapshot_value(stored[key])
        elif key in (checkpoint.get("channel_versions") or {}):
            walk.append(key)
    if not walk:
        return values
    history = saver.get_delta_channel_history(config=config, channels=walk)
    for key in walk:
        marker = markers[key]
        entry = history.get(key) or {}
        updates = [value for _task, _channel, value in entry.get("writes") or []]
        if "seed" in entry and entry["seed"] is not None:
            seed = _snapshot_value(entry["seed"])
        elif marker.reducer is not None:
            seed = REDUCER_KEYS[key]()
        elif updates:
            seed = None
        else:
            continue  # never written: absent, as LangGraph shows it
        for i in range(len(updates) - 1, -1, -1):  # the last Overwrite is the new base
            replaced, value = _overwrite(updates[i])
            if replaced:  # Overwrite(None) empties the value, as DeltaChannel does
                empty = REDUCER_KEYS.get(key) or WRITES_ONLY_KEYS[key][0]
                seed, updates = (empty() if value is None else value), updates[i + 1 :]
                break
        values[key] = marker.fold(seed, updates) if updates else seed
    return values


def _overwrite(update: Any) -> tuple[bool, Any]:
    """Whether a write is an `Overwrite`, in each form LangGraph accepts
    (`langgraph.channels.binop._get_overwrite`), and its value."""
    if isinstance(update, StoredOverwrite) or type(update).__name__ == "Overwrite":
        return True, update.value
    if isinstance(update, dict):
        if len(update) == 1 and OVERWRITE in update:
            return True, update[OVERWRITE]
        if update.get("type") == OVERWRITE and "value" in update:
            return True, update["value"]
    return False, None


def _triggered(checkpoint: dict[str, Any]) -> tuple[str, ...]:
    values = checkpoint["channel_values"]
    versions = checkpoint["channel_versions"]
    seen_by_node = checkpoint.get("versions_seen") or {}
    nodes = []
    for channel in versions:
        if channel == START:
            node = START
        elif channel.startswith(BRANCH_TO):
            node = channel[len(BRANCH_TO) :]
        else:
            continue
        if channel not in values:  # consumed: not available any more
            continue
        seen = seen_by_node.get(node)
        if seen is None or channel not in seen or versions[channel] > seen[channel]:
            nodes.append(node)
    return tuple(nodes)


def read_latest(
    saver: BaseCheckpointSaver | SqliteRows,
    thread_id: str,
    *,
    complete: bool = True,
    computed: Computed | None = None,
) -> StoredState | None:
    """The run's current state, or None when only the graph can tell (see the module doc).
    `saver` may be a store's SQLite rows read without LangGraph (app/store/sqlite_rows.py),
    which raise `NeedsSaver` for what only the saver can decode. complete=False leaves out the
    `WritesOnly` keys (trace, draft, matches, facts), which are rebuilt from the run's history:
    what deciding on a run needs is in the checkpoint. With `computed` for the run's latest
    checkpoint, they are taken from it instead of rebuilt (nothing has written to the run
    since); for any other checkpoint they are rebuilt."""
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    reader = _reader(saver)
    saved = reader.get_tuple(config)
    if saved is None:
        return StoredState(values={}, next=())
    checkpoint = saved.checkpoint
    channel_values = checkpoint.get("channel_values") or {}
    if channel_values.get(TASKS):
        return None  # Send tasks (fan-out workers) are waiting to run
    interrupts: list[Any] = []
    for _task_id, channel, value in saved.pending_writes or []:
        if channel != INTERRUPT:
            return None  # a step's output or a resume value is pending: ask the graph
        interrupts.extend(value if isinstance(value, list | tuple) else [value])
    if len({task_id for task_id, _c, _v in saved.pending_writes or []}) > 1:
        return None
    next_nodes = _triggered(checkpoint)
    if interrupts and len(interrupts) != 1:
        return None
    values = {key: empty() for key, empty in REDUCER_KEYS.items()}
    values.update(
        (key, value)
        for key, value in channel_values.items()
        if not key.startswith(("__", "branch:", "join:")) and key not in WRITES_ONLY
    )
    checkpoint_id = saved.config["configurable"].get("checkpoint_id")
    if complete and computed is not None and computed.checkpoint_id == checkpoint_id:
        values.update((k, computed.values[k]) for k in WRITES_ONLY if k in computed.values)
    elif complete:
        values.update(_rebuilt(reader, saved.config, checkpoint))
    first = interrupts[0] if interrupts else None
    return StoredState(
        values=values,
        next=next_nodes,
        interrupt_value=getattr(first, "value", None),
        interrupt_id=getattr(first, "id", None),
        checkpoint_id=checkpoint_id,
    )

"""A run's latest checkpoint on SQLite, read from the rows LangGraph's `SqliteSaver` writes,
without importing LangGraph.

`harness list` and `show` read runs through app/store/snapshot.py, which asks a saver for the
latest checkpoint with its pending writes (`get_tuple`) and for the writes a DeltaChannel is
rebuilt from (`get_delta_channel_history`). Importing the saver loads langchain-core (~0.5 s of
a 1 s command). This class answers those two calls with the same SQL as
langgraph/checkpoint/sqlite (`get_tuple`, `_delta.py`) and decodes with
app/store/light_decode.py; where that cannot decode a value it raises `NeedsSaver` and the
caller reads through the saver. tests/unit/test_sqlite_rows.py compares the two readers at
every checkpoint of every kind of run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.store.light_decode import NeedsSaver, deep, loads

LATEST_SQL = (
    "SELECT checkpoint_id, type, checkpoint FROM checkpoints "
    "WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1"
)
WRITES_SQL = (
    "SELECT task_id, channel, type, value, task_path, idx FROM writes "
    "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?"
)
# The checkpoint, then its ancestors nearest first (langgraph/checkpoint/sqlite/_delta.py).
ANCESTORS_SQL = (
    "WITH RECURSIVE ancestors(checkpoint_id, parent_checkpoint_id, type, checkpoint) AS ("
    "SELECT checkpoint_id, parent_checkpoint_id, type, checkpoint FROM checkpoints "
    "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? "
    "UNION ALL "
    "SELECT c.checkpoint_id, c.parent_checkpoint_id, c.type, c.checkpoint "
    "FROM ancestors a CROSS JOIN checkpoints c ON c.checkpoint_id = a.parent_checkpoint_id "
    "WHERE c.thread_id = ? AND c.checkpoint_ns = ?"
    ") SELECT checkpoint_id, type, checkpoint FROM ancestors"
)
CHANNEL_WRITES_SQL = (
    "SELECT checkpoint_id, task_id, idx, type, value, task_path FROM writes "
    "WHERE thread_id = ? AND checkpoint_ns = ? AND channel = ? AND checkpoint_id IN ({})"
)


def _write_order(task_path: str, task_id: str, idx: int) -> tuple[str, str, int]:
    # LangGraph's `writes_sort_key`: the order a super-step applies its tasks' writes.
    return (task_path, task_id, idx)


@dataclass
class SavedCheckpoint:
    """What `read_latest` uses of LangGraph's `CheckpointTuple`."""

    config: dict[str, Any]
    checkpoint: dict[str, Any]
    pending_writes: list[tuple[str, str, Any]] = field(default_factory=list)


class SqliteRows:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def _query(self, sql: str, params: Sequence[Any]) -> list[Any]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            # No checkpoint tables yet, or a schema from an older saver (no task_path): the
            # saver creates and migrates them.
            raise NeedsSaver(str(exc)) from None

    def get_tuple(self, config: dict[str, Any]) -> SavedCheckpoint | None:
        conf = config["configurable"]
        thread_id, ns = str(conf["thread_id"]), conf.get("checkpoint_ns", "")
        if conf.get("checkpoint_id"):
            raise NeedsSaver("a given checkpoint")  # not needed by list/show
        rows = self._query(LATEST_SQL, (thread_id, ns))
        if not rows:
            return None
        checkpoint_id, type_, blob = rows[0]
        writes = self._query(WRITES_SQL, (thread_id, ns, checkpoint_id))
        writes.sort(key=lambda r: _write_order(r[4], r[0], r[5]))
        return SavedCheckpoint(
            config={
                "configurable": {
                    "thread_id": thread_id,
                    "checkpoint_ns": ns,
                    "checkpoint_id": checkpoint_id,
                }
            },
            checkpoint=loads((type_, blob)),
            pending_writes=[(task, ch, loads((t, v))) for task, ch, t, v, _p, _i in writes],
        )

    def get_delta_channel_history(
        self, *, config: dict[str, Any], channels: Sequence[str]
    ) -> Mapping[str, dict[str, Any]]:
        """LangGraph's contract (`BaseCheckpointSaver.get_delta_channel_history`): for each
        channel, the nearest ancestor value (`seed`; absent at a root without one) and the
        writes of the checkpoints walked to find it, oldest first. Ancestors are decoded with
        their values packed; a seed is decoded in full."""
        conf = config["configurable"]
        thread_id, ns = str(conf["thread_id"]), conf.get("checkpoint_ns", "")
        target = conf["checkpoint_id"]
        active = list(channels)
        chains: dict[str, list[str]] = {ch: [] for ch in channels}
        seeds: dict[str, Any] = {}
        walked: set[str] = {target}
        started = False
        try:
            cursor = self.conn.execute(ANCESTORS_SQL, (thread_id, ns, target, thread_id, ns))
            for cid, type_, blob in cursor:
                if not started:
                    started = cid == target  # the target's own values are not a seed
                    continue
                if not active or cid in walked:
                    break  # all seeded, or the chain loops back
                walked.add(cid)
                for ch in active:
                    chains[ch].append(cid)
                values = (loads((type_, blob), shallow=True) or {}).get("channel_values") or {}
                for ch in [ch for ch in active if ch in values]:
                    seeds[ch] = deep(values[ch])
                    active.remove(ch)
            cursor.close()
        except sqlite3.OperationalError as exc:
            raise NeedsSaver(str(exc)) from None
        result: dict[str, dict[str, Any]] = {}
        for ch in channels:
            collected: list[tuple[str, str, Any]] = []
            chain = chains[ch]
            if chain:
                rows = self._query(
                    CHANNEL_WRITES_SQL.format(",".join("?" * len(chain))),
                    (thread_id, ns, ch, *chain),
                )
                by_checkpoint: dict[str, list[Any]] = {}
                for cid, task_id, idx, type_, value, path in rows:
                    by_checkpoint.setdefault(cid, []).append((path, task_id, idx, type_, value))
                for cid in reversed(chain):  # the chain is newest first
                    for _path, task_id, _idx, type_, value in sorted(
                        by_checkpoint.get(cid, []), key=lambda w: _write_order(*w[:3])
                    ):
                        collected.append((task_id, ch, loads((type_, value))))
            entry: dict[str, Any] = {"writes": collected}
            if ch in seeds:
                entry["seed"] = seeds[ch]
            result[ch] = entry
        return result

"""SQLite rows read without LangGraph (app/store/sqlite_rows.py) against the store's saver.

`harness list` and `show` read a run's latest checkpoint from the SQLite rows directly, so as
not to import LangGraph's saver (and langchain-core with it). The saver-based reader is held
to `get_state` by tests/unit/test_snapshot_reader.py; this holds the rows reader to it: every
run below is cut at every checkpoint, with and without that checkpoint's pending writes (inside
a transaction that is rolled back), and both readers are compared there.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from app.service.runs import Harness
from app.state import json_default
from app.store.delta_walk import HarnessSqliteSaver
from app.store.light_decode import NeedsSaver, StoredMessage
from app.store.serde import CompressedSerializer
from app.store.snapshot import read_latest
from app.store.sqlite_rows import SqliteRows
from tests.helpers import FlakyFacts, add_value_only_langgraph_decodes, roles_with
from tests.unit.test_snapshot_reader import TOPIC, linear_runs
from tests.unit.test_team import RecordingFacts


def printed(values: dict[str, Any]) -> dict[str, Any]:
    """Values with chat messages as they print (`--json`), and their class name."""
    out = dict(values)
    if "messages" in out:
        out["messages"] = [
            (m.name if isinstance(m, StoredMessage) else type(m).__name__, json_default(m))
            for m in out["messages"]
        ]
    return out


def check(rows: SqliteRows, saver: Any, run_id: str, complete: bool, where: str) -> str:
    truth = read_latest(saver, run_id, complete=complete)
    try:
        light = read_latest(rows, run_id, complete=complete)
    except NeedsSaver:
        return "saver"
    if truth is None:
        assert light is None, where
        return "deferred"
    assert light is not None, where
    assert printed(light.values) == printed(truth.values), where
    assert light.next == truth.next, where
    assert light.checkpoint_id == truth.checkpoint_id, where
    assert (light.interrupt_value, light.interrupt_id) == (
        truth.interrupt_value,
        truth.interrupt_id,
    ), where
    return "read"


def compare_every_cut(path: str, run_id: str) -> dict[str, int]:
    conn = sqlite3.connect(path, isolation_level=None)
    saver = HarnessSqliteSaver(conn, serde=CompressedSerializer())
    saver.is_setup = True  # setup() would commit the transaction each cut is made in
    rows = SqliteRows(conn)
    counts = {"read": 0, "deferred": 0, "saver": 0}
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id",
            (run_id,),
        )
    ]
    assert ids
    try:
        for cid in ids:
            for keep_writes in (False, True):
                conn.execute("BEGIN")
                conn.execute(
                    "DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id > ?",
                    (run_id, cid),
                )
                conn.execute(
                    "DELETE FROM writes WHERE thread_id = ? AND (checkpoint_id > ? "
                    "OR (checkpoint_id = ? AND NOT ?))",
                    (run_id, cid, cid, keep_writes),
                )
                try:
                    for complete in (True, False):
                        where = f"checkpoint {cid}, writes kept: {keep_writes}, {complete}"
                        outcome = check(rows, saver, run_id, complete, where)
                        counts[outcome] += complete
                finally:
                    conn.execute("ROLLBACK")
    finally:
        conn.close()
    return counts


def test_rows_match_the_saver_at_every_cut_of_linear_runs(settings):
    with Harness.open(settings) as h:
        run_ids = linear_runs(h)
    totals = {"read": 0, "deferred": 0, "saver": 0}
    for run_id in run_ids:
        for key, n in compare_every_cut(str(settings.sqlite_path), run_id).items():
            totals[key] += n
    # The rows reader answers wherever the saver-based reader does: no value of these runs
    # needs LangGraph's serializer.
    assert totals["saver"] == 0
    assert totals["read"] > totals["deferred"] / 2 > 0


def test_rows_match_the_saver_for_retries_and_fanout(settings):
    with Harness.open(settings, roles=roles_with(facts=FlakyFacts(failures=1))) as h:
        retried = h.start(TOPIC).run_id
    with Harness.open(settings, roles=roles_with(facts=RecordingFacts("limitations"))) as h:
        fanout = h.start(TOPIC, mode="fanout")
        if fanout.status == "waiting_approval":
            h.approve(fanout.run_id)
    for run_id in (retried, fanout.run_id):
        counts = compare_every_cut(str(settings.sqlite_path), run_id)
        assert counts["read"] > 0


def test_a_value_only_langgraph_decodes_is_read_through_the_saver(settings):
    """An extension type the rows reader does not know (here a `Send` of a fan-out step in
    flight, kept in the checkpoint) makes it step aside; the printing Harness then reads the
    run through the saver and shows the same view."""
    with Harness.open(settings) as h:
        run_id = h.start(TOPIC).run_id
    add_value_only_langgraph_decodes(settings.sqlite_path, run_id)
    conn = sqlite3.connect(settings.sqlite_path, isolation_level=None)
    with pytest.raises(NeedsSaver):
        read_latest(SqliteRows(conn), run_id)
    conn.close()
    with Harness.open(settings, printing=True) as printing, Harness.open(settings) as plain:
        a, b = printing.get(run_id), plain.get(run_id)
        assert (a.status, a.next, a.pending, a.summary()) == (
            b.status,
            b.next,
            b.pending,
            b.summary(),
        )


def test_printing_views_equal_the_api_views(settings):
    with Harness.open(settings) as h:
        run_ids = linear_runs(h)
    with Harness.open(settings, printing=True) as printing, Harness.open(settings) as plain:
        for a, b in zip(printing.list(50), plain.list(50), strict=True):
            assert (a.run_id, a.status, a.next, a.pending, a.gate, a.summary()) == (
                b.run_id,
                b.status,
                b.next,
                b.pending,
                b.gate,
                b.summary(),
            )
            assert printed(a.values) == printed(b.values)
        assert {v.run_id for v in plain.list(50)} == set(run_ids)
        # The API's values keep LangGraph's objects; only printing views hold stand-ins.
        messages = [m for v in plain.list(50) for m in v.values.get("messages", [])]
        assert messages and not any(isinstance(m, StoredMessage) for m in messages)

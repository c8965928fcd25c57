"""What a run costs the database, and that keeping it small changed nothing a person sees.

The trace, the draft, the matches and the facts are checkpointed as their writes only (LangGraph
DeltaChannels, app/nodes/channels.py) and large values are compressed (app/store/serde.py), so
a long run's trace and a large draft are no longer stored again in every checkpoint. Each
revision then adds about the same number of bytes, and a large edit about its own size.
Whatever the storage, the gate shows the whole draft, `show` and the Python API return it, and
the report holds exactly the approved text - also for runs stored before the change.
"""

from __future__ import annotations

import json
import operator
import random
import sqlite3
import typing
from contextlib import closing
from pathlib import Path
from typing import Annotated

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from typing_extensions import TypedDict

import graphs.harness
from app.config import Settings
from app.research.drafting import OfflineDrafter
from app.service.runs import Harness
from app.state import HarnessState, WritesOnly
from tests.conftest import TOPIC, run_cli
from tests.helpers import roles_with

pytestmark = pytest.mark.integration


def stored_bytes(db: Path) -> int:
    """The bytes of every checkpoint and write of the store (what LangGraph saved)."""
    with closing(sqlite3.connect(db)) as conn:
        checkpoints = conn.execute("SELECT SUM(LENGTH(checkpoint)) FROM checkpoints").fetchone()
        writes = conn.execute("SELECT SUM(LENGTH(value)) FROM writes").fetchone()
    return (checkpoints[0] or 0) + (writes[0] or 0)


def prose(size: int, seed: int = 15) -> str:
    """Markdown of about `size` characters that does not compress much (random words)."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(5000)]
    text = "# Edited report\n\n"
    while len(text) < size:
        text += " ".join(rng.choice(words) for _ in range(14)).capitalize() + ".\n"
    return text[:size]


class LongDrafter(OfflineDrafter):
    """The offline report with a long appendix: a draft of ~40 KB (the review allows 50 KB)."""

    def draft(self, topic, facts, feedback, questions=None):
        report = super().draft(topic, facts, feedback, questions=questions)
        return report + "\n## Appendix\n\n" + prose(40_000, seed=len(feedback))


def test_a_long_draft_is_not_stored_again_in_every_later_checkpoint(tmp_path):
    # Before, the draft was in each checkpoint after it was written, besides the step's write
    # and the gate's request: a revision of a 40 KB draft grew the store by 7.7x its size.
    settings = Settings.from_env(home=tmp_path / "h", retry_initial_interval=0, max_revisions=8)
    with Harness.open(settings, roles=roles_with(drafter=LongDrafter())) as h:
        run = h.start(TOPIC)
        grew = []
        for i in range(3):
            before = stored_bytes(settings.sqlite_path)
            run = h.reject(run.run_id, feedback=f"Revision {i + 1}: more on running costs")
            grew.append(stored_bytes(settings.sqlite_path) - before)
        assert run.status == "waiting_approval" and len(run.pending["draft"]) > 40_000
        assert run.pending["draft"] == run.values["draft"]
    # Now: the step's write and the gate's request (which shows it twice), compressed.
    draft = len(run.values["draft"])
    assert all(g < 3 * draft for g in grew), [round(g / draft, 2) for g in grew]


def test_a_large_edit_is_stored_about_once_and_shown_in_full(tmp_path):
    # Before: a 345 KB edit grew the database by 7-9x its size (in the resume value, the claim,
    # the gate's write and every later checkpoint).
    settings = Settings.from_env(home=tmp_path / "h", retry_initial_interval=0)
    edit = prose(300_000)
    with Harness.open(settings) as h:
        run = h.start(TOPIC)
        before = stored_bytes(settings.sqlite_path)
        done = h.edit(run.run_id, edit)
        grew = stored_bytes(settings.sqlite_path) - before
        assert done.status == "completed"
        assert Path(done.report_path).read_text(encoding="utf-8") == edit
        assert h.get(run.run_id).values["draft"] == edit
    # In the resume value, the gate's write and the run's closing chat message: 3 stored
    # copies, compressed (random words compress to ~60%).
    assert grew < 3 * len(edit), grew / len(edit)
    env = {"HARNESS_HOME": str(settings.home)}
    shown = json.loads(run_cli("show", run.run_id, "--json", env=env).stdout)
    assert shown["values"]["draft"] == edit


def _revise_then_check_the_gate(settings: Settings) -> None:
    with Harness.open(settings) as h:
        run = h.start(TOPIC)
        run = h.reject(run.run_id, feedback="More on noise")
        run = h.reject(run.run_id, feedback="And on defrost")
        draft = run.values["draft"]
        assert draft.startswith("# ") and run.values["revisions"] == 2
        # The gate carries the whole draft, for the native editor and agent-chat-ui's.
        assert run.pending["draft"] == draft
        assert run.pending["action_requests"][0]["args"] == {"markdown": draft}
        assert sum(e["event"] == "approval_rejected" for e in run.trace) == 2
        done = h.approve(run.run_id, gate=run.gate)
        assert Path(done.report_path).read_bytes() == draft.encode("utf-8")
        assert h.get(run.run_id).values["draft"] == draft


def test_the_gate_and_the_report_hold_the_whole_draft_on_sqlite(settings):
    _revise_then_check_the_gate(settings)


@pytest.mark.postgres
def test_the_gate_and_the_report_hold_the_whole_draft_on_postgres(postgres_url, tmp_path):
    _revise_then_check_the_gate(
        Settings.from_env(home=tmp_path / "h", database_url=postgres_url, retry_initial_interval=0)
    )


# -- runs stored before the change -------------------------------------------------------------


def previous_state() -> type:
    """HarnessState as graphs compiled it before: the trace a plain reducer, the other keys
    plain values, all of them whole in every checkpoint."""
    fields = {}
    for key, hint in typing.get_type_hints(HarnessState, include_extras=True).items():
        marker = next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, WritesOnly)),
                      None)
        if marker is None:
            fields[key] = hint
        elif marker.reducer is None:
            fields[key] = hint.__origin__
        else:
            fields[key] = Annotated[hint.__origin__, operator.add]
    return TypedDict("HarnessState", fields, total=False)


def _runs_stored_the_old_way(settings: Settings, monkeypatch):
    with monkeypatch.context() as old:
        old.setattr(graphs.harness, "graph_state", previous_state)
        old.setattr("app.store.serde.CompressedSerializer", JsonPlusSerializer)
        old.setattr("app.store.postgres.CompressedSerializer", JsonPlusSerializer)
        with Harness.open(settings) as h:
            waiting = h.reject(h.start(TOPIC).run_id, feedback="More on noise")
            done = h.approve(h.start("Heat pump noise").run_id)
            assert type(h.store.checkpointer.serde) is JsonPlusSerializer  # stored uncompressed
    assert waiting.status == "waiting_approval" and done.status == "completed"
    return waiting, done


def _older_runs_read_and_finish(settings: Settings, monkeypatch) -> None:
    old_waiting, old_done = _runs_stored_the_old_way(settings, monkeypatch)
    with Harness.open(settings) as h:
        waiting, done = h.get(old_waiting.run_id), h.get(old_done.run_id)
        assert (waiting.status, done.status) == ("waiting_approval", "completed")
        for run, old in ((waiting, old_waiting), (done, old_done)):
            for key in ("draft", "trace", "facts", "matches", "messages"):
                assert run.values[key] == old.values[key], key
        assert waiting.pending["draft"] == old_waiting.values["draft"]
        finished = h.approve(waiting.run_id)
    assert finished.status == "completed"
    assert Path(finished.report_path).read_text(encoding="utf-8") == old_waiting.values["draft"]
    # The stored trace goes on where it stopped, with what any run adds after its gate.
    with Harness.open(settings) as h:
        control = h.start(TOPIC)
        after_gate = len(control.trace)
        control = h.approve(control.run_id)
    trace, before = finished.trace, old_waiting.values["trace"]
    assert trace[: len(before)] == before
    assert [e["event"] for e in trace[len(before) :]] == [
        e["event"] for e in control.trace[after_gate:]
    ]


def test_runs_stored_before_the_change_read_and_finish_on_sqlite(settings, monkeypatch):
    _older_runs_read_and_finish(settings, monkeypatch)


@pytest.mark.postgres
def test_runs_stored_before_the_change_read_and_finish_on_postgres(
    postgres_url, tmp_path, monkeypatch
):
    settings = Settings.from_env(
        home=tmp_path / "h", database_url=postgres_url, retry_initial_interval=0
    )
    _older_runs_read_and_finish(settings, monkeypatch)


def test_the_lazy_delta_walk_reads_what_langgraphs_own_walk_reads(settings, monkeypatch):
    # app/store/delta_walk.py decodes ancestors lazily; at every checkpoint of runs in both
    # formats (and a new run on a thread, which overwrites its trace) it must give the same
    # history as the stock SqliteSaver.
    _runs_stored_the_old_way(settings, monkeypatch)
    with Harness.open(settings) as h:
        run = h.reject(h.start(TOPIC).run_id, feedback="More on noise")
        h.approve(run.run_id)
        saver = h.store.checkpointer
        stock = SqliteSaver(saver.conn, serde=saver.serde)
        stock.is_setup = True
        channels = ["trace", "draft", "matches", "facts", "dropped_facts", "messages"]
        compared = 0
        for record in h.store.registry.list_runs():
            thread = {"configurable": {"thread_id": record.run_id}}
            for config in [saved.config for saved in saver.list(thread)]:
                mine = saver.get_delta_channel_history(config=config, channels=channels)
                theirs = stock.get_delta_channel_history(config=config, channels=channels)
                assert mine == theirs, config
                compared += 1
    assert compared > 20  # three runs, every checkpoint

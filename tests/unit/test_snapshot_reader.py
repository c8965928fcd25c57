"""The light state reader (app/store/snapshot.py) against LangGraph's own `get_state`.

`harness list` and `show` read runs without building the graph. For that to be safe, whatever
the reader answers must be what `get_state` answers. Every run below is cut at every one of its
checkpoints, twice - as if the process died right after that checkpoint was saved, and as if it
died after the next step's writes were saved too - and the two readers are compared there.
"""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from app.service.runs import Harness
from app.store.base import Store
from app.store.snapshot import read_latest
from tests.helpers import FlakyFacts, roles_with
from tests.unit.test_team import RecordingFacts

TOPIC = "How do heat pumps work?"


def cut(saver: InMemorySaver, thread: str, upto: str, keep_writes: bool) -> InMemorySaver:
    """A copy of the thread as it was when checkpoint `upto` was the newest one saved."""
    clone = InMemorySaver()
    for cid, saved in saver.storage[thread][""].items():
        if cid <= upto:
            clone.storage[thread][""][cid] = saved
    for key, writes in saver.writes.items():
        if key[0] == thread and (key[2] < upto or (key[2] == upto and keep_writes)):
            clone.writes[key] = dict(writes)
    clone.blobs = saver.blobs
    return clone


def compare_every_cut(h: Harness, run_id: str, mode: str) -> dict[str, int]:
    saver = h.store.checkpointer
    counts = {"read": 0, "deferred": 0}
    for cid in sorted(saver.storage[run_id][""]):
        for keep_writes in (False, True):
            clone = cut(saver, run_id, cid, keep_writes)
            other = Harness(Store(clone, h.store.registry, "cut"), h.settings, h.roles)
            truth = other.graph(mode).get_state({"configurable": {"thread_id": run_id}})
            light = read_latest(clone, run_id)
            if light is None:
                counts["deferred"] += 1
                continue
            counts["read"] += 1
            where = f"checkpoint {cid}, writes kept: {keep_writes}"
            assert light.values == truth.values, where
            assert light.next == tuple(truth.next), where
            assert light.checkpoint_id == truth.config["configurable"]["checkpoint_id"], where
            if truth.interrupts:
                assert (light.interrupt_value, light.interrupt_id) == (
                    truth.interrupts[0].value,
                    truth.interrupts[0].id,
                ), where
            else:
                assert light.interrupt_id is None, where
    return counts


def linear_runs(h: Harness) -> list[str]:
    approved = h.start(TOPIC)
    h.approve(approved.run_id)
    edited = h.start(TOPIC)
    h.edit(edited.run_id, "# Mine\n\nShort.\n")
    revised = h.start(TOPIC)
    h.reject(revised.run_id, feedback="More on noise")
    h.approve(revised.run_id)
    cancelled = h.start(TOPIC)
    h.reject(cancelled.run_id)
    waiting = h.start(TOPIC)
    failed_review = h.start("medieval troubadour poetry")
    return [r.run_id for r in (approved, edited, revised, cancelled, waiting, failed_review)]


def test_reader_matches_get_state_at_every_cut_of_linear_runs(settings):
    h = Harness.in_memory(settings)
    totals = {"read": 0, "deferred": 0}
    for run_id in linear_runs(h):
        for key, n in compare_every_cut(h, run_id, "linear").items():
            totals[key] += n
    # The reader must actually answer for most cuts (between steps, at the gate, finished),
    # or list/show would not get faster.
    assert totals["read"] > totals["deferred"] / 2 > 0


def test_reader_matches_get_state_for_tool_errors_and_retries(settings):
    h = Harness.in_memory(settings, roles=roles_with(facts=FlakyFacts(failures=99)))
    run = h.start(TOPIC)
    assert run.status == "failed"
    compare_every_cut(h, run.run_id, "linear")
    h2 = Harness.in_memory(settings, roles=roles_with(facts=FlakyFacts(failures=1)))
    run = h2.start(TOPIC)
    compare_every_cut(h2, run.run_id, "linear")


@pytest.mark.parametrize("fail_when", [None, "limitations"])
def test_reader_matches_get_state_for_fanout_runs(settings, fail_when):
    h = Harness.in_memory(settings, roles=roles_with(facts=RecordingFacts(fail_when)))
    run = h.start(TOPIC, mode="fanout")
    if run.status == "waiting_approval":
        h.approve(run.run_id)
    counts = compare_every_cut(h, run.run_id, "fanout")
    assert counts["read"] > 0


def test_views_of_list_and_get_do_not_need_the_graph(settings):
    """Harness.get/list use the reader: a fresh Harness answers without compiling a graph."""
    h = Harness.in_memory(settings)
    run_ids = linear_runs(h)
    fresh = Harness(h.store, settings)
    views = fresh.list(50)
    assert {v.run_id for v in views} == set(run_ids)
    assert fresh._graphs == {}
    by_id = {v.run_id: v.status for v in views}
    assert sorted(by_id.values()) == sorted(
        ["completed", "completed", "completed", "cancelled", "waiting_approval", "failed"]
    )

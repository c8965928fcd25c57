"""The Python API saves a new run's input as `intake`'s own output (one checkpoint instead of
LangGraph's input, __start__ and intake): a run started that way must be the run the graph makes
from the same input, and a caller listening live must still see every event, intake's first."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from app.service.runs import Harness
from tests.conftest import TOPIC

# Differ between any two runs: times, ids, and the report's file name (it names the run).
VOLATILE = {"ts", "at", "started_at", "id", "message_id", "ms", "output_path"}


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list | tuple):
        return [_stable(v) for v in value]
    return value


def _messages(values: dict[str, Any]) -> list[tuple[str, Any]]:
    path = str(values["output_path"])
    return [(m.type, m.content.replace(path, "<report>")) for m in values.get("messages") or []]


@pytest.mark.parametrize("mode", ["linear", "fanout"])
def test_a_run_started_through_the_api_is_the_run_the_graph_makes(harness: Harness, mode: str):
    by_api = harness.start(TOPIC, mode=mode)
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    graph = harness.graph(mode)
    graph.invoke({"topic": TOPIC}, config)
    by_graph = graph.get_state(config)

    assert by_api.status == "waiting_approval" and by_graph.next == ("approval",)
    skip = {"messages", "draft", "trace"}
    api_values = {k: v for k, v in by_api.values.items() if k not in skip}
    graph_values = {k: v for k, v in by_graph.values.items() if k not in skip}
    assert _stable(api_values) == _stable(graph_values)
    assert _messages(by_api.values) == _messages(by_graph.values)
    assert [(e["event"], e["step"]) for e in by_api.trace] == [
        (e["event"], e["step"]) for e in by_graph.values["trace"]
    ]
    assert by_api.pending["draft_chars"] == len(by_graph.values["draft"])
    api_path, graph_path = by_api.values["output_path"], by_graph.values["output_path"]
    assert Path(api_path).parent == Path(graph_path).parent and api_path != graph_path


def test_a_listener_sees_every_event_of_the_run_in_order_intake_first(harness: Harness):
    live: list[dict[str, Any]] = []
    run = harness.start(TOPIC, on_event=live.append)
    assert live[0]["event"] == "run_started" and live[0]["step"] == "intake"
    assert live == run.trace  # streamed as they happened, then kept in the checkpoint


def test_a_new_run_waits_at_plan_after_one_checkpoint(sqlite_harness: Harness, monkeypatch):
    """Killed right after its input is saved, a run is listed and continues at `plan`."""
    from app.service import runs

    def stop(self: Any, mode: str, payload: Any, config: dict[str, Any], *_: Any) -> None:
        raise runs.RunStopped(config["configurable"]["thread_id"])  # as Ctrl-C there would

    monkeypatch.setattr(runs.Harness, "run_graph", stop)
    with pytest.raises(runs.RunStopped):
        sqlite_harness.start(TOPIC)
    monkeypatch.undo()
    [run] = sqlite_harness.list()
    assert run.status == "interrupted" and run.next == ("plan",)
    config = {"configurable": {"thread_id": run.run_id}}
    assert len(list(sqlite_harness.graph().get_state_history(config))) == 1
    done = sqlite_harness.resume(run.run_id)
    assert done.status == "waiting_approval"

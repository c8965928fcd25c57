"""The fan-out graph's workflow export and drawing come from the compiled graph, show the
fan-out, and cover every transition its runs actually take."""

from __future__ import annotations

import json
import threading

from langgraph.constants import END, START

from app.nodes.workflow import edge_set, export_workflow, mermaid
from app.research.facts import OfflineFactExtractor
from app.service.runs import Harness
from graphs.harness import graph as linear_graph
from graphs.research_team import build_graph, graph
from tests.conftest import REPO
from tests.helpers import assert_trace_follows_workflow, node_path, roles_with

TOPIC = "How do heat pumps work?"
TAIL = ("draft_report", "review", "approval", "finalize_report", "done", "failed", "cancelled")


class FailingFacts(OfflineFactExtractor):
    provider = "failing-test"

    def __init__(self, when: str):
        self.when = when
        self._lock = threading.Lock()

    def extract(self, topic, questions, documents):
        if any(self.when in q for q in questions):
            raise OSError("model socket closed")
        return super().extract(topic, questions, documents)


def test_export_shows_the_fan_out_and_the_shared_tail():
    wf = export_workflow(graph)
    assert wf["name"] == "research_team"
    assert wf["entry"] == "intake"
    assert [n["id"] for n in wf["nodes"]] == ["intake", "plan", "research", "join_facts", *TAIL]
    labelled = {(t["from"], t["label"], t["to"]) for t in wf["transitions"]}
    assert ("plan", "fan_out", "research") in labelled
    assert ("plan", "tool_error", "failed") in labelled
    assert ("research", None, "join_facts") in labelled
    assert ("join_facts", "joined", "draft_report") in labelled
    assert ("join_facts", "all_failed", "failed") in labelled
    nodes = {n["id"]: n for n in wf["nodes"]}
    assert nodes["research"]["fan_out_worker"] is True
    assert nodes["research"]["retry_max_attempts"] == 3
    assert wf["approval_gates"] == ["approval"]
    assert wf["risky_steps"] == ["finalize_report"]
    assert wf["terminal_states"] == ["cancelled", "done", "failed"]


def test_the_tail_is_the_linear_graphs_tail():
    def tail(wf):
        nodes = {n["id"]: n for n in wf["nodes"] if n["id"] in TAIL}
        edges = {(t["from"], t["label"], t["to"]) for t in wf["transitions"] if t["from"] in TAIL}
        return nodes, edges

    assert tail(export_workflow(graph)) == tail(export_workflow(linear_graph))
    edges = edge_set(export_workflow(graph))
    assert {src for src, dst in edges if dst == "finalize_report"} == {"approval"}


def test_mermaid_draws_the_fan_out_edge():
    text = mermaid(graph)
    assert "plan -. &nbsp;fan_out&nbsp; .-> research;" in text
    assert "research --> join_facts;" in text
    assert "join_facts -. &nbsp;all_failed&nbsp; .-> failed;" in text


def test_graph_is_registered_for_langgraph_dev_without_a_checkpointer():
    config = json.loads((REPO / "langgraph.json").read_text())
    assert config["graphs"]["research_team"] == "./graphs/research_team.py:graph"
    assert graph.checkpointer is None
    assert build_graph(settings=None).name == "research_team"


def test_every_transition_in_fan_out_traces_is_a_workflow_edge(settings):
    """Runs along every kind of path; each trace must only take edges the export lists."""
    wf_graph = None
    paths = []

    def check(h: Harness, run) -> None:
        nonlocal wf_graph
        wf_graph = h.graph("fanout")
        assert_trace_follows_workflow(wf_graph, run.trace)
        paths.append(node_path(run.trace))

    h = Harness.in_memory(settings)
    check(h, h.approve(h.start(TOPIC, mode="fanout").run_id))  # pass, approve
    run = h.start(TOPIC, mode="fanout")
    run = h.reject(run.run_id, feedback="Add detail.")  # redraft loop
    check(h, h.edit(run.run_id, "# Edited\n"))  # edit is an approval
    check(h, h.reject(h.start(TOPIC, mode="fanout").run_id))  # cancel
    check(h, h.start("medieval troubadour poetry", mode="fanout"))  # review failure

    partial = Harness.in_memory(settings, roles=roles_with(facts=FailingFacts("limitations")))
    check(partial, partial.approve(partial.start(TOPIC, mode="fanout").run_id))
    none = Harness.in_memory(settings, roles=roles_with(facts=FailingFacts("heat pumps")))
    check(none, none.start(TOPIC, mode="fanout"))  # every worker fails

    # The runs covered the fan-out, the join, each terminal state and the revision loop.
    seen = {(a, b) for p in paths for a, b in zip([START, *p], [*p, END], strict=False)}
    for edge in [("plan", "research"), ("research", "join_facts"), ("join_facts", "draft_report"),
                 ("join_facts", "failed"), ("approval", "draft_report"), ("review", "failed"),
                 ("approval", "cancelled"), ("finalize_report", "done")]:
        assert edge in seen, edge
    assert seen <= edge_set(export_workflow(wf_graph))

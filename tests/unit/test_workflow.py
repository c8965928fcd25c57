"""The workflow export and drawing come from the compiled graph itself."""

from app.nodes.workflow import edge_set, export_workflow, mermaid
from graphs.harness import build_graph, graph


def test_export_lists_nodes_gates_risky_steps_and_terminals():
    wf = export_workflow(graph)
    assert wf["entry"] == "intake"
    ids = [n["id"] for n in wf["nodes"]]
    assert ids == [
        "intake",
        "plan",
        "search",
        "extract_facts",
        "draft_report",
        "review",
        "approval",
        "finalize_report",
        "done",
        "failed",
        "cancelled",
    ]
    assert wf["approval_gates"] == ["approval"]
    assert wf["risky_steps"] == ["finalize_report"]
    assert wf["terminal_states"] == ["cancelled", "done", "failed"]
    nodes = {n["id"]: n for n in wf["nodes"]}
    assert nodes["finalize_report"]["action_category"] == "filesystem_write"
    assert nodes["search"]["action_category"] == "read_only"
    assert nodes["search"]["retry_max_attempts"] == 3
    assert nodes["approval"]["retry_max_attempts"] is None


def test_export_has_every_labelled_transition():
    labelled = {(t["from"], t["label"], t["to"]) for t in export_workflow(graph)["transitions"]}
    for step, nxt in [
        ("plan", "search"),
        ("search", "extract_facts"),
        ("extract_facts", "draft_report"),
        ("draft_report", "review"),
        ("finalize_report", "done"),
    ]:
        assert (step, "tool_ok", nxt) in labelled
        assert (step, "tool_error", "failed") in labelled
    assert ("review", "review_passed", "approval") in labelled
    assert ("review", "review_failed", "failed") in labelled
    assert ("review", "tool_error", "failed") in labelled
    assert ("approval", "approved", "finalize_report") in labelled
    assert ("approval", "rejected_with_feedback", "draft_report") in labelled
    assert ("approval", "rejected", "cancelled") in labelled
    assert ("approval", "revisions_exhausted", "failed") in labelled


def test_the_only_way_to_the_risky_step_is_through_the_gate():
    edges = edge_set(export_workflow(graph))
    assert {src for src, dst in edges if dst == "finalize_report"} == {"approval"}


def test_export_follows_the_built_graph_not_a_copy(settings):
    settings = settings.model_copy(update={"retry_attempts": 5})
    wf = export_workflow(build_graph(settings=settings))
    assert {
        n["retry_max_attempts"]
        for n in wf["nodes"]
        if n["action_category"] != "read_only" and not n["terminal_status"]
    } == {5}


def test_mermaid_is_the_compiled_graphs_drawing_with_edge_labels():
    text = mermaid(graph)
    assert text.startswith("---") and "graph TD;" in text
    for label in ("review_passed", "review_failed", "tool_error", "approved", "rejected"):
        assert f"&nbsp;{label}&nbsp;" in text

"""A thread is a conversation (chat input, messages at the gate and at every end, a fresh run
per input), and one answer per gate takes effect (bound to the gate, claimed by the graph).
All on an in-memory checkpointer."""

from __future__ import annotations

import json
import threading

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END
from langgraph.types import Command

from app.errors import StaleDecision
from app.models.chat import ModelCaller
from app.models.roles import ModelPlanner
from app.store.factory import memory_store
from graphs.harness import build_graph
from graphs.research_team import build_graph as build_team
from tests.helpers import roles_with

TOPIC = "How do heat pumps work?"
CHAT_INPUT = {  # agent-chat-ui's body: content as a list of text blocks
    "messages": [
        {"id": "m-1", "type": "human", "content": [{"type": "text", "text": "Heat pump noise"}]}
    ]
}
PER_RUN = ("plan", "matches", "facts", "draft", "review", "approval", "report", "error")


@pytest.fixture(params=["linear", "fanout"])
def graph(request, settings):
    build = build_graph if request.param == "linear" else build_team
    return build(InMemorySaver(), settings=settings, claims=memory_store().registry)


def config(thread: str) -> dict:
    return {"configurable": {"thread_id": thread}}


def texts(values: dict) -> list[tuple[str, str]]:
    return [(m.type, m.content) for m in values["messages"]]


def test_chat_input_reaches_the_gate_with_messages(graph):
    values = graph.invoke(CHAT_INPUT, config("c1"))
    assert values["status"] == "waiting_approval", values.get("error")
    assert values["topic"] == "Heat pump noise"
    assert values["current_run"]["topic_from"] == "message"
    [(kind, first), (ai, waiting)] = texts(values)
    assert (kind, ai) == ("human", "ai") and first[0]["text"] == "Heat pump noise"
    assert values["output_path"] in waiting and "Nothing is written" in waiting
    request = values["__interrupt__"][0].value
    [action] = request["action_requests"]
    assert action["name"] == "write_report" and action["args"] == {"markdown": values["draft"]}
    assert values["output_path"] in action["description"]


def test_a_topic_input_gets_a_human_message_so_clients_have_a_title(graph):
    values = graph.invoke({"topic": TOPIC}, config("c2"))
    assert texts(values)[0] == ("human", TOPIC)


def test_every_end_says_what_happened(graph):
    graph.invoke({"topic": TOPIC}, config("e1"))
    done = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), config("e1"))
    kind, said = texts(done)[-1]
    assert kind == "ai" and said.startswith(f"Written to `{done['report']['path']}`")
    assert said.endswith(done["draft"])

    graph.invoke({"topic": TOPIC}, config("e2"))
    cancelled = graph.invoke(Command(resume={"decision": "reject"}), config("e2"))
    assert cancelled["status"] == "cancelled" and "nothing was written" in texts(cancelled)[-1][1]

    failed = graph.invoke({"topic": "medieval troubadour poetry"}, config("e3"))
    assert failed["status"] == "failed"
    assert texts(failed)[-1][1].startswith(f"The run failed at {failed['error']['step']}")


def test_a_new_input_on_a_finished_thread_is_a_fresh_run(graph, settings):
    cfg = config("f1")
    graph.invoke({"topic": TOPIC}, cfg)
    graph.invoke(Command(resume={"decision": "reject", "feedback": "Shorter."}), cfg)
    first = graph.invoke(Command(resume={"decision": "approve"}), cfg)
    assert first["status"] == "completed" and first["revisions"] == 1

    second = graph.invoke(CHAT_INPUT, cfg)
    assert second["status"] == "waiting_approval"
    assert second["topic"] == "Heat pump noise" and second["current_run"]["number"] == 2
    assert second["revisions"] == 0 and second["feedback"] == []
    assert second.get("report") is None and second.get("approval") is None
    assert second["output_path"] != first["output_path"]
    assert "heat-pump-noise" in second["output_path"]
    # The trace is this run's alone; the conversation keeps both runs.
    assert second["trace"][0]["event"] == "run_started" and second["trace"][0]["run"] == 2
    assert [e["event"] for e in second["trace"]].count("approval_required") == 1
    old_events = ("report_written", "revision_requested")
    assert not [e for e in second["trace"] if e["event"] in old_events]
    assert [k for k, _ in texts(second)].count("human") == 2

    third = graph.invoke({"topic": "Heat pump maintenance"}, cfg)  # a topic given again wins
    assert third["topic"] == "Heat pump maintenance"
    assert third["current_run"]["topic_from"] == "topic"


def test_fresh_run_after_a_gate_nobody_answered_and_after_a_failure(graph):
    cfg = config("f2")
    failed = graph.invoke({"topic": "medieval troubadour poetry"}, cfg)
    assert failed["status"] == "failed" and failed["error"]
    waiting = graph.invoke({"topic": TOPIC}, cfg)
    assert waiting["status"] == "waiting_approval" and waiting.get("error") is None
    again = graph.invoke(CHAT_INPUT, cfg)  # abandons the waiting gate: a new run
    assert again["topic"] == "Heat pump noise" and again["status"] == "waiting_approval"
    assert again["draft"] != waiting["draft"]


def test_an_output_path_given_with_the_input_is_kept_and_not_inherited(graph, settings):
    cfg = config("f3")
    mine = str(settings.reports_root / "mine.md")
    first = graph.invoke({"topic": TOPIC, "output_path": mine}, cfg)
    assert first["output_path"] == mine
    graph.invoke(Command(resume={"decision": "reject"}), cfg)
    second = graph.invoke({"topic": TOPIC}, cfg)
    assert second["output_path"] != mine


def test_mark_as_resolved_leaves_the_gate_waiting_unchanged(graph):
    cfg = config("r1")
    before = graph.invoke({"topic": TOPIC}, cfg)
    graph.invoke(Command(goto=END), cfg)  # agent-chat-ui's "Mark as Resolved"
    state = graph.get_state(cfg)
    assert state.next == ("approval",)
    assert state.interrupts[0].id == before["__interrupt__"][0].id
    assert state.values.get("approval") is None
    done = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), cfg)
    assert done["status"] == "completed"


def test_an_unknown_shape_or_respond_asks_again_with_the_same_interrupt(graph):
    cfg = config("v1")
    first = graph.invoke({"topic": TOPIC}, cfg)["__interrupt__"][0]
    for bad in ({"decisions": [{"type": "respond", "message": "hi"}]}, {"type": "approve"}):
        graph.invoke(Command(resume=bad), cfg)
        [again] = graph.get_state(cfg).interrupts
        assert again.id == first.id and again.value["validation_error"]
    assert graph.get_state(cfg).values.get("approval") is None


def test_a_second_answer_to_a_claimed_gate_is_refused_and_writes_nothing(settings):
    claims = memory_store().registry
    graph = build_graph(InMemorySaver(), settings=settings, claims=claims)
    cfg = config("k1")
    gate = graph.invoke({"topic": TOPIC}, cfg)["__interrupt__"][0]
    # Another process/server claimed this gate first (its run is still being carried out).
    assert claims.claim_decision("k1", gate.id, {"decision": "reject", "decision_id": "other"})
    refused = graph.invoke(Command(resume={"decision": "approve", "decision_id": "mine"}), cfg)
    [again] = refused["__interrupt__"]
    assert again.id == gate.id
    assert "another answer (reject) claimed this gate first" in again.value["validation_error"]
    assert '"decision_id": "other"' in again.value["validation_error"]
    state = graph.get_state(cfg)
    assert state.next == ("approval",) and state.values.get("approval") is None
    assert not list(settings.reports_root.glob("*.md"))
    # The holder of the claim carries it out (a retried delivery with the same id).
    done = graph.invoke(Command(resume={"decision": "reject", "decision_id": "other"}), cfg)
    assert done["status"] == "cancelled"


def test_a_stale_bound_answer_is_refused_after_a_redraft(harness):
    run = harness.start(TOPIC)
    seen_by_a = run.gate
    harness.reject(run.run_id, feedback="Shorter, please.", gate=run.gate)  # B
    with pytest.raises(StaleDecision, match="stale answer"):
        harness.approve(run.run_id, gate=seen_by_a)  # A never saw the redraft
    redraft = harness.get(run.run_id)
    assert redraft.status == "waiting_approval" and redraft.values.get("approval") is None
    # Through the graph directly the stale answer is not consumed: the gate asks again.
    graph = harness.graph()
    graph.invoke(
        Command(resume={"decision": "approve", **_binding(seen_by_a)}), config(run.run_id)
    )
    [pending] = graph.get_state(config(run.run_id)).interrupts
    assert "stale answer" in pending.value["validation_error"]
    assert harness.approve(run.run_id, gate=redraft.gate).status == "completed"


def _binding(token: str) -> dict:
    interrupt_id, sha = token.split(":")
    return {"interrupt_id": interrupt_id, "draft_sha256": sha}


def test_concurrent_answers_in_one_process_one_takes_effect(settings):
    claims = memory_store().registry
    graph = build_graph(InMemorySaver(), settings=settings, claims=claims)
    cfg = config("k2")
    gate = graph.invoke({"topic": TOPIC}, cfg)["__interrupt__"][0]
    barrier, outcomes = threading.Barrier(2), {}

    def answer(name: str, body: dict) -> None:
        barrier.wait()
        outcomes[name] = graph.invoke(Command(resume={**body, "decision_id": name}), cfg)

    bodies = {"a": {"decision": "approve"}, "b": {"decision": "edit", "markdown": "# B\n"}}
    threads = [threading.Thread(target=answer, args=item) for item in bodies.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The claim names the one answer that took effect; the other was refused at the gate, or
    # (if it came after the winner finished) found nothing left to resume.
    winner = claims.claimed_decision("k2", gate.id)["decision_id"]
    loser = "b" if winner == "a" else "a"
    if "__interrupt__" in outcomes[loser]:
        assert "already decided" in outcomes[loser]["__interrupt__"][0].value["validation_error"]
    [report] = settings.reports_root.glob("*.md")
    final = graph.get_state(cfg).values
    assert final["status"] == "completed" and final["report"]["path"] == str(report)
    assert final["approval"]["decision"] == bodies[winner]["decision"]
    assert report.read_text() == bodies[winner].get("markdown", report.read_text())


def test_role_model_calls_do_not_stream_into_chat(settings):
    plan = json.dumps({"questions": ["How does a heat pump move heat?"]})
    chat = GenericFakeChatModel(messages=iter([plan]))
    roles = roles_with(planner=ModelPlanner(ModelCaller(chat, "fake")))
    graph = build_graph(InMemorySaver(), settings=settings, roles=roles)
    streamed = [
        chunk
        for mode, chunk in graph.stream(
            {"topic": TOPIC}, config("s1"), stream_mode=["messages", "values"]
        )
        if mode == "messages"
    ]
    state = graph.get_state(config("s1")).values
    assert "How does a heat pump move heat?" in state["plan"]  # the model did answer
    shown = " ".join(str(message.content) for message, _ in streamed)
    assert "questions" not in shown
    assert "ready for review" in shown  # the gate's message is what a chat client sees


def test_intake_resets_every_state_field_a_run_produces():
    """A field added to the state later cannot leak into the next run on a thread unnoticed:
    every state key is either reset by intake or named here as input or cross-run."""
    from app.nodes.intake import PER_RUN as RESET
    from app.nodes.intake import PER_RUN_LISTS
    from app.state import HarnessInput, HarnessState

    carried = {"current_run", "status", "trace"}  # intake rewrites these itself
    produced = set(HarnessState.__annotations__) - set(HarnessInput.__annotations__) - carried
    assert produced == set(RESET) | set(PER_RUN_LISTS)

"""agent-chat-ui's contract (../shared/clients/agent-chat-ui.md), sent verbatim to `langgraph dev`.

The bodies below are the ones that UI sends (POST /threads/{id}/runs/stream, with its stream
modes, `stream_resumable`, `on_disconnect` and the `checkpoint` of the thread head it shows);
the assertions are what it needs to render: `values.messages` at an interrupt, `HITLRequest`
keys in the interrupt value, and decisions that do what their buttons say. Studio's input form
(`assistants.get_schemas`) and concurrent answers to one gate are checked here too.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO
from tests.integration.langgraph_server import serve_langgraph_dev, server_available

pytestmark = [pytest.mark.integration, pytest.mark.server]

GRAPH = "harness"
STREAM_MODE = ["values", "messages-tuple", "custom"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    reason = server_available()
    if reason is not None:
        if os.environ.get("HARNESS_REQUIRE_SERVER") == "1":
            pytest.fail(f"HARNESS_REQUIRE_SERVER=1 but {reason}")
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("chat-ui") / "home"
    env: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith(("HARNESS_", "OPENAI_"))
    }
    env.update(HARNESS_HOME=str(home), HARNESS_RETRY_INTERVAL="0")
    with serve_langgraph_dev(REPO, env=env, timeout=120) as url:
        with httpx.Client(base_url=url, timeout=120) as http:
            yield {"url": url, "http": http, "reports": home / "reports"}


# -- the UI's requests, verbatim --------------------------------------------------------------


def chat_body(text: str) -> dict[str, Any]:
    return {
        "input": {
            "messages": [
                {
                    "id": str(uuid.uuid4()),
                    "type": "human",
                    "content": [{"type": "text", "text": text}],
                }
            ]
        },
        "stream_mode": STREAM_MODE,
        "stream_subgraphs": True,
        "stream_resumable": True,
        "assistant_id": GRAPH,
        "on_disconnect": "continue",
    }


def resume_body(decision: dict[str, Any], checkpoint: dict[str, Any]) -> dict[str, Any]:
    return {
        "input": {},
        "command": {"resume": {"decisions": [decision]}},
        "stream_mode": STREAM_MODE,
        "stream_subgraphs": True,
        "stream_resumable": True,
        "assistant_id": GRAPH,
        "on_disconnect": "continue",
        "checkpoint": checkpoint,
    }


def resolve_body() -> dict[str, Any]:  # "Mark as Resolved"
    return {
        "command": {"goto": "__end__"},
        "stream_mode": STREAM_MODE,
        "stream_subgraphs": True,
        "stream_resumable": True,
        "assistant_id": GRAPH,
        "on_disconnect": "continue",
    }


def events(sse: str) -> list[tuple[str, Any]]:
    found = []
    for block in sse.replace("\r\n", "\n").split("\n\n"):
        lines = block.splitlines()
        kind = next((x[6:].strip() for x in lines if x.startswith("event:")), None)
        data = "\n".join(x[5:].strip() for x in lines if x.startswith("data:"))
        if kind:
            found.append((kind, json.loads(data) if data else None))
    return found


def stream(server, thread_id: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    response = server["http"].post(f"/threads/{thread_id}/runs/stream", json=body)
    assert response.status_code == 200, response.text
    return events(response.text)


def new_thread(server) -> str:
    return server["http"].post("/threads", json={}).json()["thread_id"]


def state(server, thread_id: str) -> dict[str, Any]:
    return server["http"].get(f"/threads/{thread_id}/state").json()


def to_gate(server, text: str) -> tuple[str, dict[str, Any]]:
    thread_id = new_thread(server)
    seen = stream(server, thread_id, chat_body(text))
    assert not [d for k, d in seen if k == "error"], seen
    now = state(server, thread_id)
    assert now["values"]["status"] == "waiting_approval", now["values"].get("error")
    return thread_id, now


def ai_texts(values: dict[str, Any]) -> list[str]:
    return [m["content"] for m in values["messages"] if m["type"] == "ai"]


def reports(server) -> list[Path]:
    return sorted(server["reports"].glob("*.md"))


# -- tests ------------------------------------------------------------------------------------


def test_studio_gets_input_and_output_schemas_with_types_and_descriptions(server):
    from langgraph_sdk import get_client

    async def schemas():
        client = get_client(url=server["url"], api_key=None)
        found = []
        for graph_id in (GRAPH, "research_team"):
            [assistant] = await client.assistants.search(graph_id=graph_id)
            found.append(await client.assistants.get_schemas(assistant["assistant_id"]))
        return found

    for found in asyncio.run(schemas()):
        inputs = found["input_schema"]["properties"]
        assert (
            inputs["topic"]["type"] == "string"
            and "report is about" in inputs["topic"]["description"]
        )
        assert (
            inputs["messages"]["type"] == "array"
            and "human message" in inputs["messages"]["description"]
        )
        assert "output_path" in inputs and "sources" in inputs
        outputs = found["output_schema"]["properties"]
        assert {"status", "draft", "report", "trace", "messages"} <= set(outputs)
        assert found["state_schema"] is not None


def test_chat_input_reaches_the_gate_with_messages_and_an_approval_card(server):
    thread_id, now = to_gate(server, "How do heat pumps work?")
    values = now["values"]
    assert values["topic"] == "How do heat pumps work?"
    first = values["messages"][0]  # the thread's title in the UI's thread list
    assert first["type"] == "human" and first["content"][0]["text"] == "How do heat pumps work?"
    assert (
        "ready for review" in ai_texts(values)[-1] and values["output_path"] in ai_texts(values)[-1]
    )
    [interrupt] = now["interrupts"]
    request = interrupt["value"]
    [action] = request["action_requests"]
    assert action["name"] == "write_report" and action["args"] == {"markdown": values["draft"]}
    assert "**Write the report**" in action["description"]
    assert request["review_configs"] == [
        {"action_name": "write_report", "allowed_decisions": ["approve", "edit", "reject"]}
    ]
    assert request["interrupt_id"] == interrupt["id"]
    thread = server["http"].get(f"/threads/{thread_id}").json()
    assert thread["status"] == "interrupted"


def test_approve_writes_the_draft_once_and_says_so(server):
    thread_id, gate = to_gate(server, "Heat pump defrost cycles")
    before = len(reports(server))
    seen = stream(server, thread_id, resume_body({"type": "approve"}, gate["checkpoint"]))
    assert not [d for k, d in seen if k == "error"], seen
    values = state(server, thread_id)["values"]
    assert values["status"] == "completed"
    assert Path(values["report"]["path"]).read_text() == gate["values"]["draft"]
    assert len(reports(server)) == before + 1
    assert ai_texts(values)[-1].startswith(f"Written to `{values['report']['path']}`")


def test_edit_writes_the_edited_markdown_verbatim(server):
    thread_id, gate = to_gate(server, "Heat pump noise")
    edited = "# Heat pump noise\n\nOur words, *exactly*  as typed.\n\n- one\n- two\n"
    decision = {
        "type": "edit",
        "edited_action": {"name": "write_report", "args": {"markdown": edited}},
    }
    stream(server, thread_id, resume_body(decision, gate["checkpoint"]))
    values = state(server, thread_id)["values"]
    assert values["status"] == "completed" and values["approval"]["decision"] == "edit"
    assert Path(values["report"]["path"]).read_bytes() == edited.encode()


def test_reject_with_a_message_redrafts_and_waits_again(server):
    thread_id, gate = to_gate(server, "Refrigerants and their warming potential")
    decision = {"type": "reject", "message": "Shorter, please."}
    stream(server, thread_id, resume_body(decision, gate["checkpoint"]))
    again = state(server, thread_id)
    values = again["values"]
    assert values["status"] == "waiting_approval"
    assert values["revisions"] == 1 and values["feedback"] == ["Shorter, please."]
    assert again["interrupts"][0]["id"] != gate["interrupts"][0]["id"]  # a new gate
    assert len(ai_texts(values)) == 2 and "redraft 1" in ai_texts(values)[-1]
    assert values.get("report") is None


def test_a_second_topic_on_the_same_thread_is_a_fresh_run(server):
    thread_id, gate = to_gate(server, "Heat pump maintenance")
    stream(
        server,
        thread_id,
        resume_body({"type": "reject", "message": "More detail."}, gate["checkpoint"]),
    )
    redraft = state(server, thread_id)
    stream(server, thread_id, resume_body({"type": "approve"}, redraft["checkpoint"]))
    first = state(server, thread_id)["values"]
    assert first["status"] == "completed" and first["revisions"] == 1

    seen = stream(server, thread_id, chat_body("Ground source heat pumps"))
    assert not [d for k, d in seen if k == "error"], seen
    second = state(server, thread_id)["values"]
    assert second["topic"] == "Ground source heat pumps"
    assert second["status"] == "waiting_approval" and second["current_run"]["number"] == 2
    assert second["revisions"] == 0 and second["feedback"] == []
    assert second.get("report") is None and second.get("approval") is None
    assert second["output_path"] != first["output_path"]
    assert second["trace"][0]["event"] == "run_started"
    assert [e["event"] for e in second["trace"]].count("report_written") == 0
    assert [m["type"] for m in second["messages"]].count("human") == 2


def test_mark_as_resolved_leaves_the_gate_waiting(server):
    thread_id, gate = to_gate(server, "Air source versus ground source")
    stream(server, thread_id, resolve_body())
    after = state(server, thread_id)
    assert after["next"] == ["approval"]
    assert after["interrupts"][0]["id"] == gate["interrupts"][0]["id"]
    assert after["values"].get("approval") is None


def test_respond_is_refused_and_the_gate_asks_again(server):
    thread_id, gate = to_gate(server, "Heat pump sizing")
    decision = {"type": "respond", "message": "Just tell me."}
    stream(server, thread_id, resume_body(decision, gate["checkpoint"]))
    after = state(server, thread_id)
    [interrupt] = after["interrupts"]
    assert interrupt["id"] == gate["interrupts"][0]["id"]
    assert "'respond' is not offered" in interrupt["value"]["validation_error"]


async def answer_together(server, thread_id, gate, answers) -> list[list[tuple[str, Any]]]:
    async with httpx.AsyncClient(base_url=server["url"], timeout=120) as http:

        async def send(answer):
            body = resume_body(answer, gate["checkpoint"])
            response = await http.post(f"/threads/{thread_id}/runs/stream", json=body)
            return events(response.text)

        return await asyncio.gather(*(send(a) for a in answers.values()))


def test_concurrent_answers_to_one_gate_one_takes_effect(server):
    """Two people answer the same card at once (both pinned to the checkpoint they saw, as the
    UI sends it). One answer is carried out; the other is refused, never a second report."""
    edited = "# Concurrent\n\nB's edit.\n"
    answers = {
        "approve": {"type": "approve"},
        "edit": {
            "type": "edit",
            "edited_action": {"name": "write_report", "args": {"markdown": edited}},
        },
    }
    for round_no in range(3):
        thread_id, gate = to_gate(server, f"Heat pump grid impact, round {round_no}")
        before = set(reports(server))

        outcomes = dict(
            zip(
                answers, asyncio.run(answer_together(server, thread_id, gate, answers)), strict=True
            )
        )
        final = state(server, thread_id)["values"]
        assert final["status"] == "completed", final.get("error")
        new = set(reports(server)) - before
        assert len(new) == 1, new
        [written] = new
        winner = final["approval"]["decision"]
        assert written.read_text() == (edited if winner == "edit" else gate["values"]["draft"])
        events_ = [e["event"] for e in final["trace"]]
        assert events_.count("report_written") == 1 and events_.count("approval_granted") == 1
        loser = outcomes["approve" if winner == "edit" else "edit"]
        refusals = [d for k, d in loser if k == "error"] + [
            d for k, d in loser if k == "custom" and d.get("event") == "decision_refused"
        ]
        assert refusals, loser  # the loser is told, not silently ignored
        errors = [d for k, d in loser if k == "error"]
        if errors:  # a replay of the gate the winner answered: the run fails with the reason
            assert errors[0]["error"] == "AnswerRefused"
            assert "already decided" in errors[0]["message"], errors


def test_concurrent_unpinned_bound_answers_through_the_sdk(server):
    """Clients that send no checkpoint (langgraph-sdk's `runs.wait`) bind their answers with
    the interrupt id they saw. `langgraph dev` queues the second run behind the first; if the
    rejection ran first, the approval meets the redraft's gate and is refused as stale instead
    of approving a draft nobody read. Never more than one report."""
    from langgraph_sdk import get_client

    thread_id, gate = to_gate(server, "Heat pump water heaters")
    seen = gate["interrupts"][0]["id"]
    before = set(reports(server))
    answers = [
        {"decision": "reject", "feedback": "Add costs.", "interrupt_id": seen},
        {"decisions": [{"type": "approve"}], "interrupt_id": seen},
    ]

    async def both():
        client = get_client(url=server["url"], api_key=None)
        return await asyncio.gather(
            *(client.runs.wait(thread_id, GRAPH, command={"resume": a}) for a in answers)
        )

    asyncio.run(both())
    final = state(server, thread_id)
    written = set(reports(server)) - before
    if final["values"]["status"] == "completed":  # the approval came first
        assert len(written) == 1 and final["values"]["revisions"] == 0
    else:  # the rejection came first: the approval was for the old draft
        assert final["values"]["status"] == "waiting_approval" and not written
        assert final["values"]["revisions"] == 1
        [waiting] = final["interrupts"]
        assert waiting["id"] != seen and "stale answer" in waiting["value"]["validation_error"]

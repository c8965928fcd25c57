"""The graph served by `langgraph dev` (what LangGraph Studio talks to), driven with langgraph-sdk.

One server for the module, started from the repo's own langgraph.json (in a scratch mirror of
the project, as on a fresh clone: no .env) with HARNESS_HOME in a temp dir, so the reports it
writes can be checked here. Each scenario uses its own thread and
topic.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.integration.langgraph_server import serve_langgraph_dev, server_available

pytestmark = [pytest.mark.integration, pytest.mark.server]

GRAPH = "harness"


def _server_or_skip() -> None:
    reason = server_available()
    if reason is None:
        return
    if os.environ.get("HARNESS_REQUIRE_SERVER") == "1":
        pytest.fail(f"HARNESS_REQUIRE_SERVER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    _server_or_skip()
    tmp = tmp_path_factory.mktemp("langgraph-dev")
    home = tmp / "home"
    env: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith(("HARNESS_", "OPENAI_"))
    }
    env.update(HARNESS_HOME=str(home), HARNESS_RETRY_INTERVAL="0")
    started = time.monotonic()
    # Isolated: the shipped langgraph.json, no developer .env, no threads left in the repo.
    with serve_langgraph_dev(REPO, env=env, timeout=120) as url:
        yield {"url": url, "reports": home / "reports", "startup_s": time.monotonic() - started}


def run(coro):
    return asyncio.run(coro)


def client(server: dict[str, Any]):
    from langgraph_sdk import get_client

    return get_client(url=server["url"], api_key=None)


async def start_to_gate(c, topic: str) -> tuple[str, dict[str, Any]]:
    thread = await c.threads.create()
    values = await c.runs.wait(thread["thread_id"], GRAPH, input={"topic": topic})
    assert values["status"] == "waiting_approval", values.get("error")
    return thread["thread_id"], values


async def resume(c, thread_id: str, answer: dict[str, Any]) -> dict[str, Any]:
    return await c.runs.wait(thread_id, GRAPH, command={"resume": answer})


def report_files(server: dict[str, Any], output_path: str) -> list[Path]:
    """Files written for one run's output path (the path itself or a `-N` sibling)."""
    stem = Path(output_path).stem
    return sorted(p for p in server["reports"].glob(f"{stem}*.md"))


def events(values: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in values["trace"] if e["event"] == name]


def test_studio_lists_the_graph_with_labelled_edges(server):
    async def scenario():
        c = client(server)
        assistants = await c.assistants.search(graph_id=GRAPH)
        drawing = await c.assistants.get_graph(GRAPH)
        return assistants, drawing

    assistants, drawing = run(scenario())
    assert [a["graph_id"] for a in assistants] == [GRAPH]
    nodes = {n["id"]: n.get("metadata") or {} for n in drawing["nodes"]}
    assert nodes["approval"]["approval_gate"] is True
    assert nodes["finalize_report"]["risky"] is True
    labels = {(e["source"], e["target"]): e.get("data") for e in drawing["edges"]}
    assert labels[("approval", "finalize_report")] == "approved"
    assert labels[("approval", "draft_report")] == "rejected_with_feedback"
    assert labels[("approval", "cancelled")] == "rejected"
    assert labels[("review", "approval")] == "review_passed"
    assert labels[("plan", "failed")] == "tool_error"


def test_thread_waits_at_the_gate_with_a_payload_a_person_can_answer(server):
    async def scenario():
        c = client(server)
        thread_id, values = await start_to_gate(c, "How do heat pumps work?")
        state = await c.threads.get_state(thread_id)
        thread = await c.threads.get(thread_id)
        return values, state, thread

    values, state, thread = run(scenario())
    assert thread["status"] == "interrupted"
    assert state["next"] == ["approval"]
    [pending] = state["interrupts"]
    assert values["__interrupt__"][0]["value"] == pending["value"]
    request = pending["value"]
    assert request["action"] == "finalize_report"
    assert request["allowed_decisions"] == ["approve", "edit", "reject"]
    assert request["draft"] == values["draft"] and request["draft"].startswith("# ")
    assert request["review"]["passed"] is True
    assert request["output_path"].startswith(str(server["reports"]))
    assert request["resume_example"] == {"decision": "approve"}
    # The JSON Schema of both answers: native (app.state.Decision) and LangChain HITL.
    native, hitl = pending["response_schema"]["anyOf"]
    assert native["properties"]["decision"]["enum"] == ["approve", "edit", "reject"]
    assert native["required"] == ["decision"]
    assert {"markdown", "feedback", "by", "interrupt_id", "draft_sha256"} <= set(
        native["properties"]
    )
    assert hitl["required"] == ["decisions"]
    # Nothing is written before a decision.
    assert report_files(server, request["output_path"]) == []


def test_approve_writes_the_draft_once(server):
    async def scenario():
        c = client(server)
        thread_id, before = await start_to_gate(c, "Heat pump defrost cycles")
        after = await resume(c, thread_id, {"decision": "approve", "by": "studio-user"})
        thread = await c.threads.get(thread_id)
        return before, after, thread

    before, after, thread = run(scenario())
    assert thread["status"] == "idle"
    assert after["status"] == "completed"
    assert after["approval"]["decision"] == "approve" and after["approval"]["by"] == "studio-user"
    [written] = report_files(server, before["output_path"])
    assert str(written) == after["report"]["path"] == before["output_path"]
    assert written.read_text() == before["draft"]
    assert after["report"]["already_written"] is False
    assert len(events(after, "report_written")) == 1


def test_edit_writes_the_edited_text(server):
    edited = "# Heat pump noise\n\nOur own summary, edited in Studio.\n"

    async def scenario():
        c = client(server)
        thread_id, before = await start_to_gate(c, "Heat pump noise")
        after = await resume(c, thread_id, {"decision": "edit", "markdown": edited})
        return before, after

    before, after = run(scenario())
    assert after["status"] == "completed"
    assert after["approval"]["decision"] == "edit"
    [written] = report_files(server, before["output_path"])
    assert written.read_text() == edited
    assert events(after, "approval_granted")[-1]["edited"] is True


def test_reject_with_feedback_redrafts_and_waits_again(server):
    async def scenario():
        c = client(server)
        thread_id, first = await start_to_gate(c, "Refrigerants and their warming potential")
        second = await resume(c, thread_id, {"decision": "reject", "feedback": "Shorter, please."})
        state = await c.threads.get_state(thread_id)
        final = await resume(c, thread_id, {"decision": "approve"})
        return first, second, state, final

    first, second, state, final = run(scenario())
    assert second["status"] == "waiting_approval"
    assert second["revisions"] == 1 and second["feedback"] == ["Shorter, please."]
    assert state["next"] == ["approval"]
    assert state["interrupts"][0]["value"]["revisions"] == 1
    # Nothing was written while the run went back to drafting.
    assert events(second, "report_written") == []
    assert final["status"] == "completed"
    [written] = report_files(server, first["output_path"])
    assert written.read_text() == final["draft"]
    assert len(events(final, "report_written")) == 1
    assert [e["event"] for e in final["trace"]].count("approval_required") == 2


def test_reject_without_feedback_cancels_and_writes_nothing(server):
    async def scenario():
        c = client(server)
        thread_id, before = await start_to_gate(c, "Heat pump maintenance")
        after = await resume(c, thread_id, {"decision": "reject"})
        return before, after

    before, after = run(scenario())
    assert after["status"] == "cancelled"
    assert report_files(server, before["output_path"]) == []


def test_an_invalid_answer_asks_again_and_the_thread_stays_usable(server):
    async def scenario():
        c = client(server)
        thread_id, before = await start_to_gate(c, "Ground source heat pumps")
        await resume(c, thread_id, {"decision": "edit"})  # no markdown
        state = await c.threads.get_state(thread_id)
        thread = await c.threads.get(thread_id)
        final = await resume(c, thread_id, {"decision": "approve"})
        return before, state, thread, final

    before, state, thread, final = run(scenario())
    assert thread["status"] == "interrupted"
    assert state["next"] == ["approval"]
    assert "markdown" in state["interrupts"][0]["value"]["validation_error"]
    assert state["values"].get("approval") is None
    assert final["status"] == "completed"
    assert len(report_files(server, before["output_path"])) == 1


def test_trace_events_stream_live_on_the_custom_mode(server):
    async def scenario():
        c = client(server)
        thread = await c.threads.create()
        parts = []
        async for part in c.runs.stream(
            thread["thread_id"],
            GRAPH,
            input={"topic": "Air source versus ground source"},
            stream_mode=["custom", "updates"],
        ):
            parts.append((part.event, part.data))
        state = await c.threads.get_state(thread["thread_id"])
        return parts, state

    parts, state = run(scenario())
    kinds = [kind for kind, _ in parts]
    custom = [data for kind, data in parts if kind == "custom"]
    updates = [data for kind, data in parts if kind == "updates"]
    # Live: each step's events arrive before that step's state update, interleaved with the
    # updates of the steps around it, not in one batch at the end.
    first_plan = kinds.index("updates", kinds.index("updates") + 1)
    assert custom[0]["event"] == "run_started" and custom[0]["step"] == "intake"
    assert custom[1]["event"] == "run_created" and custom[1]["step"] == "plan"
    assert custom[2]["event"] == "tool_start" and custom[2]["step"] == "plan"
    assert kinds.index("custom", kinds.index("updates") + 1) < first_plan
    assert "custom" in kinds[first_plan + 1 :]
    assert [list(u) for u in updates[:2]] == [["intake"], ["plan"]]
    assert "__interrupt__" in updates[-1]
    # The streamed events are the same records the checkpointed trace keeps.
    trace = state["values"]["trace"]
    assert [e for e in custom if e in trace] == custom
    names = [e["event"] for e in custom]
    order = [names.index(n) for n in ("plan_ready", "draft_reviewed", "approval_required")]
    assert order == sorted(order)

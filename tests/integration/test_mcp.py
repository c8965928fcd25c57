"""`harness mcp` driven by the official MCP SDK's own client over stdio (a real subprocess).

The decision goes through the same claim, gate and stored policy as the CLI: a run started
under a policy file is approved over MCP by a server that has no policy file, the report lands
under the run's root, and a second decision (from the CLI) is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import anyio
import pytest

pytest.importorskip("mcp")

from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

from tests.conftest import HARNESS_BIN, REPO, TOPIC, run_cli  # noqa: E402

pytestmark = pytest.mark.integration


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(("HARNESS_", "LANGSMITH"))}
    env.pop("HARNESS_POLICY_FILE", None)
    return {**env, "HARNESS_HOME": str(home), "PATH": os.environ.get("PATH", ""), **extra}


async def _session_calls(env: dict[str, str], calls):
    params = StdioServerParameters(command=str(HARNESS_BIN), args=["mcp"], env=env, cwd=REPO)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await calls(session)


def _data(result) -> dict:
    assert not result.is_error, result.content
    return result.structured_content or json.loads(result.content[0].text)


def test_mcp_tools_start_show_pending_decide_through_the_gate(tmp_path):
    home = tmp_path / "home"
    roots = tmp_path / "team-reports"
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"allowed_write_roots": [str(roots)]}))
    # The run starts under the policy file (CLI) ...
    started = run_cli("run", TOPIC, "--no-input", "--json",
                      env={"HARNESS_HOME": str(home), "HARNESS_POLICY_FILE": str(policy)})
    assert started.returncode == 0, started.stderr
    run_id = json.loads(started.stdout)["run_id"]

    async def calls(session):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == {"start_run", "list_runs", "show_run", "pending", "decide"}
        assert tools["pending"].annotations.read_only_hint is True
        listed = _data(await session.call_tool("list_runs", {"limit": 5}))
        waiting = _data(await session.call_tool("pending", {"run_id": run_id[:8]}))
        shown = _data(await session.call_tool("show_run", {"run_id": run_id}))
        bad = await session.call_tool("decide", {"run_id": run_id, "decision": "edit"})
        decided = _data(
            await session.call_tool("decide", {"run_id": run_id, "decision": "approve"})
        )
        again = await session.call_tool("decide", {"run_id": run_id, "decision": "approve"})
        unknown = await session.call_tool("show_run", {"run_id": "no-such-run"})
        return listed, waiting, shown, bad, decided, again, unknown

    # ... and is decided over MCP by a server that has no policy file at all.
    listed, waiting, shown, bad, decided, again, unknown = anyio.run(
        _session_calls, _env(home), calls
    )
    assert [r["run_id"] for r in listed["runs"]] == [run_id]
    assert waiting["run_id"] == run_id
    assert waiting["pending"]["allowed_decisions"] == ["approve", "edit", "reject"]
    assert shown["status"] == "waiting_approval" and shown["pending"]["draft"]
    assert bad.is_error and "markdown" in bad.content[0].text
    assert decided["status"] == "completed"
    report = Path(decided["report"]["path"])
    assert report.parent == roots.resolve() and report.is_file()
    assert again.is_error and "already completed" in again.content[0].text
    assert unknown.is_error and "no run with id" in unknown.content[0].text
    # The same gate for every client: the CLI sees the decision MCP made.
    late = run_cli("approve", run_id, env={"HARNESS_HOME": str(home)})
    assert late.returncode == 2 and "already" in late.stderr
    history = json.loads(run_cli("history", run_id, "--json",
                                 env={"HARNESS_HOME": str(home)}).stdout)
    granted = [e for e in history if e["event"] == "approval_granted"]
    assert [e["by"] for e in granted] == ["mcp"]
    assert [e["event"] for e in history].count("report_written") == 1


def test_mcp_start_run_with_inline_documents_and_a_rejection(tmp_path):
    docs = [
        {"title": "Ground loops", "content": "Ground source heat pumps use buried pipe loops. "
         "The loops exchange heat with the ground, which stays near 10 degrees all year. "
         "Ground loops cost more to install than an outdoor unit but last for decades."},
        {"title": "Air units", "content": "Air source heat pumps take heat from outdoor air. "
         "Their efficiency falls as the outdoor air gets colder, and they defrost in winter."},
    ]

    async def calls(session):
        started = _data(await session.call_tool(
            "start_run", {"topic": "ground source heat pump loops", "documents": docs}
        ))
        rejected = _data(await session.call_tool(
            "decide", {"run_id": started["run_id"], "decision": "reject"}
        ))
        empty = await session.call_tool("start_run", {"topic": "   "})
        return started, rejected, empty

    started, rejected, empty = anyio.run(_session_calls, _env(tmp_path / "home"), calls)
    assert started["status"] == "waiting_approval", started["error"]
    assert rejected["status"] == "cancelled" and rejected["report"] is None
    assert empty.is_error and "topic must be a non-empty string" in empty.content[0].text

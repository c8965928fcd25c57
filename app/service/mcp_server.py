"""The harness as an MCP server (the official `mcp` SDK, stdio): `harness mcp`.

Tools: `start_run`, `list_runs`, `show_run`, `pending`, `decide`. Each call opens the same store
as the CLI and the Python API and goes through `Harness`: a decision is claimed in the run
registry, answered at the approval gate and carried out under the policy stored with the run,
exactly as `harness approve` would. There is deliberately no tool that writes a report: the
original harness's `mcp-call finalize_report` wrote outside the allowed roots, past policy and
approval; here the report is written only by the graph, after a decision at the gate.

Nothing is printed to stdout except the protocol; errors a caller can fix come back as tool
errors with the same one-line message the CLI prints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from app.config import Settings
from app.errors import HarnessError
from app.service.runs import Harness, RunView

READ_ONLY = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
ACTS = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False)
MAX_LIST = 200


def run_payload(run: RunView) -> dict[str, Any]:
    return {**run.summary(), "pending": run.pending}


def build_server(settings: Settings | None = None) -> MCPServer:
    settings = settings or Settings.from_env()
    server = MCPServer(
        "harness",
        instructions=(
            "Approval-gated research reports. start_run stops at the approval gate; read the "
            "draft with pending, then decide (approve, edit with markdown, or reject with "
            "feedback). The report is written only after an approval, under the run's policy."
        ),
    )

    def call(work: Callable[[Harness], Any]) -> Any:
        try:
            with Harness.open(settings) as h:
                return work(h)
        except HarnessError as exc:  # the caller's mistake: one clear line, like the CLI
            raise ToolError(str(exc)) from None

    @server.tool(annotations=ACTS)
    def start_run(
        topic: str,
        mode: Literal["linear", "fanout"] = "linear",
        corpus: str | None = None,
        sources_file: str | None = None,
        documents: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Start a research run on `topic`; it runs to the approval gate (or to its end when the
        review fails). Sources: a corpus folder, a JSON sources file, or inline documents
        ([{"title", "content"}]); none = the configured default corpus."""
        return call(
            lambda h: run_payload(
                h.start(
                    topic, corpus=corpus, sources_file=sources_file, documents=documents,
                    mode=mode,
                )
            )
        )

    @server.tool(annotations=READ_ONLY)
    def list_runs(limit: int = 20) -> dict[str, Any]:
        """The most recent runs, newest first."""
        if not 1 <= limit <= MAX_LIST:
            raise ToolError(f"limit must be between 1 and {MAX_LIST}")
        return call(lambda h: {"runs": [r.summary() for r in h.list(limit)]})

    @server.tool(annotations=READ_ONLY)
    def show_run(run_id: str) -> dict[str, Any]:
        """A run's status, review, pending decision and report (`latest` = the newest run)."""
        return call(lambda h: run_payload(h.get(run_id)))

    @server.tool(annotations=READ_ONLY)
    def pending(run_id: str) -> dict[str, Any]:
        """What the approval gate of a run is waiting for: the draft, the review, the output
        path and the allowed decisions."""
        return call(lambda h: {"run_id": h.resolve_id(run_id), "pending": h.pending(run_id)})

    @server.tool(annotations=ACTS)
    def decide(
        run_id: str,
        decision: Literal["approve", "edit", "reject"],
        markdown: str | None = None,
        feedback: str | None = None,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Answer a run's approval gate: approve (the report is written), edit (your
        `markdown` replaces the draft and is written), or reject (with `feedback` the run
        drafts again and waits; without it the run is cancelled). One answer per gate counts,
        whichever client sends it."""
        payload = {"decision": decision, "markdown": markdown, "feedback": feedback,
                   "by": by or "mcp"}
        return call(lambda h: run_payload(h.decide(run_id, payload)))

    return server


def serve_stdio(settings: Settings | None = None) -> None:
    build_server(settings).run("stdio")

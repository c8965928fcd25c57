"""`harness memory ID [--query Q --top-k K]`: the run's working context, its session state and
a ranked query over the sources it retrieved and the facts it extracted."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from app.cli.common import (
    JsonOut,
    Latest,
    RunId,
    app,
    current_settings,
    out,
    pick_run,
    print_json,
    shown,
)
from app.service.runs import Harness


@app.command()
def memory(
    run_id: RunId = None,
    latest: Latest = False,
    query: Annotated[
        str | None, typer.Option(help="What to look for; default: the run's topic.")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="How many results (1-50).")] = 5,
    json_out: JsonOut = False,
) -> None:
    """Working context, session state, and a ranked query over the run's sources and facts."""
    with Harness.open(current_settings()) as h:
        data = h.memory(pick_run(run_id, latest), query=query, top_k=top_k)
    if json_out:
        print_json(data)
        return
    out.print(f"[bold]Working context[/] of run {data['run_id']}")
    for key, value in data["working_context"].items():
        text = json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)
        out.print(f"  {key:>24}: {shown(text)}")
    state = data["session_state"]
    out.print("[bold]Session state[/]")
    for key in ("created_at", "updated_at", "status", "next", "revisions", "resumes", "last_error"):
        out.print(f"  {key:>24}: {shown(json.dumps(state[key], default=str))}")
    retrieval = data["retrieval"]
    searched = retrieval["searched"]
    out.print(
        f"[bold]Retrieval[/] for {shown(repr(retrieval['query']))} over {searched['sources']} "
        f"sources and {searched['facts']} facts"
    )
    if retrieval["problem"]:
        out.print(f"  [yellow]{shown(retrieval['problem'])}[/]")
    for i, hit in enumerate(retrieval["results"], 1):
        out.print(
            f"  {i}. [{hit['kind']}] {shown(hit['id'])} ({hit['score']}) "
            f"{shown(str(hit['title']))}: {shown(hit['text'])}"
        )
    if not retrieval["results"]:
        out.print("  nothing matches")

"""`harness summary ID` (the run's operational summary) and `harness trace-summary ID` (the
roll-up of its trace: counts, per-step time and attempts, gate waits, revisions, resumes,
tokens and cost per role). Both read app/service/trace_summary.py's numbers."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

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


def _shown(value: Any) -> str:
    return json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)


def _cost(row: dict[str, Any]) -> str:
    if not row.get("calls"):
        return "-"
    if row.get("cost_usd") is None:
        return "unpriced"
    suffix = " (partly unpriced)" if row.get("unpriced_calls") else ""
    return f"${row['cost_usd']:.6f}{suffix}"


@app.command()
def summary(run_id: RunId = None, latest: Latest = False, json_out: JsonOut = False) -> None:
    """The run's operational summary: status, where it is, time, retries, gate, tokens, cost."""
    with Harness.open(current_settings(), printing=True) as h:
        data = h.summary(pick_run(run_id, latest))
    if json_out:
        print_json(data)
        return
    for key, value in data.items():
        out.print(f"{key:>20}: {shown(_shown(value))}")


def _steps_table(steps: dict[str, dict[str, Any]]) -> Table:
    table = Table("step", "runs", "attempts", "retries", "errors", "time ms", box=None)
    for name, row in steps.items():
        table.add_row(
            name,
            str(row["executions"]),
            str(row["attempts"]),
            str(row["retries"]),
            str(row["errors"]),
            f"{row['duration_ms']:.1f}",
        )
    return table


def _tokens_table(by_role: dict[str, dict[str, Any]]) -> Table:
    table = Table("role", "calls", "input", "output", "total", "cost", "models", box=None)
    for role, row in by_role.items():
        table.add_row(
            role,
            str(row["calls"]),
            str(row["input_tokens"]),
            str(row["output_tokens"]),
            str(row["total_tokens"]),
            _cost(row),
            shown(", ".join(row.get("models") or [])),
        )
    return table


@app.command("trace-summary")
def trace_summary(run_id: RunId = None, latest: Latest = False, json_out: JsonOut = False) -> None:
    """Roll-up of the run's trace: counts by event and step, per-step time and attempts, gate
    waits, revisions, resumes, token usage and cost per role."""
    with Harness.open(current_settings(), printing=True) as h:
        data = h.trace_summary(pick_run(run_id, latest))
    if json_out:
        print_json(data)
        return
    timeline = data["timeline"]
    out.print(
        f"Run [bold]{data['run_id']}[/]: {data['status']} at {data['current_step']} "
        f"({data['mode']}), {data['counts']['trace_events']} events over {timeline['wall_s']}s"
    )
    out.print(_steps_table(data["steps"]))
    gate = data["gate"]
    waits = ", ".join(f"{w['decision']} after {w['wait_s']}s" for w in gate["waits"]) or "none"
    out.print(f"Gate: {gate['decisions']} decision(s): {waits}")
    if gate["waiting_since"]:
        out.print(f"      waiting since {gate['waiting_since']}")
    out.print(f"Revisions requested: {data['revisions']['requested']}")
    resumes = data["resumes"]["resumes"]
    listed = ", ".join(f"{r['reason']} at {r['from_step']}" for r in resumes) or "none"
    out.print(f"Resumes: {len(resumes)} ({shown(listed)})")
    tokens = data["tokens"]
    if tokens["total"].get("calls"):
        out.print(_tokens_table(tokens["by_role"]))
        total = tokens["total"]
        out.print(
            f"Tokens: {total['total_tokens']} in {total['calls']} calls; cost: {_cost(total)}"
        )
        if total["calls_without_usage"]:
            out.print(f"  {total['calls_without_usage']} call(s) reported no usage")
    else:
        out.print("Tokens: no model calls (offline roles)")
    counts = " ".join(f"{k}={v}" for k, v in data["counts"]["by_event"].items())
    out.print(f"Events: {shown(counts)}")
    for failure in data["failures"]:
        error = shown(str(failure["error"]))
        out.print(f"[red]{failure['step']}[/] attempt {failure['attempt']}: {error}")

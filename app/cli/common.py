"""What every `harness` command module shares: the typer app, the consoles, option types, and
how a run is printed. Command modules import this; it imports none of them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from app.config import Settings, read_user_file
from app.errors import InputError
from app.safety.policy import Policy
from app.safety.terminal import sanitize
from app.service.view import RunView
from app.state_base import json_default

app = typer.Typer(
    help="Approval-gated research reports on LangGraph.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain usage errors ("Error: ..."), no boxes in logs
)
# Piped output is not cut to rich's 80-column default: ids and paths must survive intact.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)

MAX_EDIT_BYTES = 10_000_000

RunId = Annotated[
    str | None, typer.Argument(help="Run id (or a unique prefix).", show_default=False)
]
Latest = Annotated[bool, typer.Option("--latest", help="Use the most recent run.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
By = Annotated[str | None, typer.Option("--by", help="Who decides (recorded in the trace).")]
GateOpt = Annotated[
    str | None,
    typer.Option(
        "--gate",
        help="The gate you read (printed by `pending`): the decision is refused if the draft "
        "changed since (another person's reject redrafted it).",
    ),
]


def shown(value: object) -> str:
    """Stored text as inert terminal text: no escape sequences, no rich markup."""
    return escape(sanitize(value))


def current_settings() -> Settings:
    settings = Settings.from_env()
    # A malformed policy file is refused by every command, up front, also by those that only
    # read runs and never build the graph (where the policy is otherwise loaded).
    Policy.load(settings)
    return settings


def pick_run(run_id: str | None, latest: bool) -> str | None:
    if run_id and latest:
        raise InputError("give a run id or --latest, not both")
    if not run_id and not latest:
        raise InputError("give a run id, or --latest for the most recent run")
    return None if latest else run_id


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=json_default) + "\n")


def event_line(event: dict[str, Any]) -> str:
    detail = {k: v for k, v in event.items() if k not in ("ts", "event", "step")}
    text = " ".join(f"{k}={v}" for k, v in detail.items() if v not in (None, [], {}))
    name, step = shown(event.get("event", "")), shown(event.get("step", ""))
    return f"[dim]{str(event.get('ts', ''))[11:23]}[/] {name:<20} {step:<16} {shown(text)}"


def live_printer(json_out: bool):
    return None if json_out else (lambda e: out.print(event_line(e)))


def show_gate(run: RunView, *, hint: bool = True) -> None:
    pending = run.pending or {}
    out.print(Panel(shown(pending.get("draft", "")), title="Draft", expand=False))
    review = pending.get("review") or {}
    verdict = "passed" if review.get("passed") else "failed"
    out.print(f"Review: [bold]{verdict}[/] by {shown(review.get('reviewer'))}")
    for finding in review.get("findings", []):
        out.print(f"  - {shown(finding['severity'])}: {shown(finding['message'])}")
    if pending.get("validation_error"):
        out.print(f"[red]Last answer was invalid:[/] {shown(pending['validation_error'])}")
    out.print(f"Proposed output: {shown(pending.get('output_path'))}")
    out.print(f"Gate: {run.gate}")
    if not hint:
        return
    short, gate = run.run_id[:8], f"--gate {run.gate}"
    out.print(
        f"Waiting for approval. Decide with: harness approve {short} {gate} | "
        f"harness edit {short} {gate} --file FILE | "
        f"harness reject {short} {gate} --feedback TEXT"
    )


def print_run(run: RunView, json_out: bool) -> None:
    if json_out:
        data = run.summary()
        data["pending"] = run.pending
        data["gate"] = run.gate
        print_json(data)
    else:
        out.print(f"Run [bold]{shown(run.run_id)}[/]: {run.status}")
        if run.status == "waiting_approval":
            show_gate(run)
        elif run.status == "completed":
            report = run.values.get("report") or {}
            out.print(
                f"Report written to {shown(report.get('path'))} ({report.get('bytes')} bytes)"
            )
        elif run.status in ("failed", "damaged"):
            error = run.values.get("error") or {}
            step, message = shown(error.get("step")), shown(error.get("message"))
            out.print(f"[red]Failed at {step}:[/] {message}")
        elif run.status == "interrupted":
            where = f"before {', '.join(run.next)}" if run.next else "between steps"
            out.print(f"Stopped {where}; continue with: harness resume {shown(run.run_id[:8])}")
    if run.status == "failed":
        raise typer.Exit(1)


def read_markdown(path: Path) -> str:
    text = read_user_file(path, "edit file", MAX_EDIT_BYTES)
    if not text.strip():
        raise InputError(f"{path} is empty: an edit must contain the full report")
    return text

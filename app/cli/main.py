"""The `harness` command. Human-readable by default, `--json` for machines.

User mistakes print one `error:` line and exit 2; a run that ends failed exits 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app.cli.common import (
    By,
    GateOpt,
    JsonOut,
    Latest,
    RunId,
    app,
    current_settings,
    err,
    event_line,
    live_printer,
    out,
    pick_run,
    print_json,
    print_run,
    read_markdown,
    show_gate,
    shown,
)
from app.errors import HarnessError, InputError, RunStopped
from app.service.faults import first_line, is_store_error
from app.service.runs import Harness, RunView


def _ask(h: Harness, run: RunView) -> RunView:
    """On a terminal, ask for the decision right away instead of a later `harness approve`."""
    while run.status == "waiting_approval":
        choice = typer.prompt("Decision [a]pprove / [e]dit FILE / [r]eject / [l]ater", default="l")
        choice = choice.strip().lower()
        if choice in ("a", "approve"):
            # Bound to the gate just shown: a redraft by someone else meanwhile refuses it.
            run = h.approve(run.run_id, gate=run.gate, on_event=live_printer(False))
        elif choice in ("e", "edit"):
            path = typer.prompt("Path of the edited Markdown file")
            markdown = read_markdown(Path(path))
            run = h.edit(run.run_id, markdown, gate=run.gate, on_event=live_printer(False))
        elif choice in ("r", "reject"):
            feedback = typer.prompt(
                "Feedback (empty cancels the run)", default="", show_default=False
            )
            run = h.reject(
                run.run_id, feedback=feedback or None, gate=run.gate, on_event=live_printer(False)
            )
            if run.status == "waiting_approval":
                show_gate(run)
        else:
            break
    return run


@app.command()
def run(
    topic: Annotated[str, typer.Argument(help="What the report is about.")],
    corpus: Annotated[Path | None, typer.Option(help="Folder of .md/.txt sources.")] = None,
    sources: Annotated[Path | None, typer.Option(help="JSON file: [{title, content}].")] = None,
    output: Annotated[
        Path | None, typer.Option(help="Report path (inside the allowed roots).")
    ] = None,
    mode: Annotated[str, typer.Option(help="linear or fanout.")] = "linear",
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Approve at the gate without asking.")
    ] = False,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never ask; stop at the gate.")
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """Start a run; it stops at the approval gate unless --yes (or you answer on a TTY)."""
    with Harness.open(current_settings()) as h:
        result = h.start(
            topic,
            corpus=corpus,
            sources_file=sources,
            output_path=output,
            mode=mode,
            on_event=live_printer(json_out),
        )
        if result.status == "waiting_approval" and yes:
            if not json_out:
                show_gate(result, hint=False)  # what is approved stays visible above the outcome
                out.print("Approving (--yes).")
            result = h.approve(
                result.run_id, by="cli --yes", gate=result.gate, on_event=live_printer(json_out)
            )
        elif (
            result.status == "waiting_approval"
            and not (json_out or no_input)
            and sys.stdin.isatty()
        ):
            show_gate(result)
            result = _ask(h, result)
        print_run(result, json_out)


MAX_LIST = 100_000


@app.command("list")
def list_runs(
    limit: Annotated[
        int, typer.Option(help="How many runs, newest first.", min=1, max=MAX_LIST)
    ] = 20,
    json_out: JsonOut = False,
) -> None:
    """List runs, newest first."""
    with Harness.open(current_settings(), printing=True) as h:
        runs = h.list(limit)
    if json_out:
        print_json([r.summary() for r in runs])
        return
    table = Table(box=None)
    table.add_column("run id", no_wrap=True, min_width=32)  # never cut: people copy it
    table.add_column("status", no_wrap=True)
    table.add_column("mode", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("topic", overflow="fold")
    for r in runs:
        table.add_row(shown(r.run_id), r.status, r.mode, (r.created_at or "")[:19], shown(r.topic))
    out.print(table if runs else "No runs yet.")


@app.command()
def show(run_id: RunId = None, latest: Latest = False, json_out: JsonOut = False) -> None:
    """Show a run's status, review, pending decision or report."""
    with Harness.open(current_settings(), printing=True) as h:
        result = h.get(pick_run(run_id, latest))
    if json_out:
        print_json({**result.summary(), "pending": result.pending, "values": result.values})
        return
    print_run(result, False)


@app.command()
def pending(run_id: RunId = None, latest: Latest = False, json_out: JsonOut = False) -> None:
    """Show what the approval gate is waiting for."""
    with Harness.open(current_settings(), printing=True) as h:
        result = h.get(pick_run(run_id, latest))
        h.pending(result.run_id)  # raises a clear error when nothing is pending
    if json_out:
        print_json(result.pending)
    else:
        show_gate(result)


@app.command()
def approve(
    run_id: RunId = None,
    latest: Latest = False,
    by: By = None,
    gate: GateOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Approve the draft: the report is written."""
    with Harness.open(current_settings()) as h:
        result = h.approve(
            pick_run(run_id, latest), by=by, gate=gate, on_event=live_printer(json_out)
        )
        print_run(result, json_out)


@app.command()
def edit(
    run_id: RunId = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="The edited report (Markdown).")
    ] = None,
    latest: Latest = False,
    by: By = None,
    gate: GateOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Replace the draft with your edited Markdown and approve it."""
    if file is None:
        raise InputError("edit needs --file with the edited Markdown")
    markdown = read_markdown(file)
    with Harness.open(current_settings()) as h:
        print_run(
            h.edit(
                pick_run(run_id, latest),
                markdown,
                by=by,
                gate=gate,
                on_event=live_printer(json_out),
            ),
            json_out,
        )


@app.command()
def reject(
    run_id: RunId = None,
    feedback: Annotated[str | None, typer.Option(help="What to change; the run redrafts.")] = None,
    latest: Latest = False,
    by: By = None,
    gate: GateOpt = None,
    json_out: JsonOut = False,
) -> None:
    """Reject the draft: with --feedback it is redrafted, without it the run is cancelled."""
    with Harness.open(current_settings()) as h:
        result = h.reject(
            pick_run(run_id, latest),
            feedback=feedback,
            by=by,
            gate=gate,
            on_event=live_printer(json_out),
        )
        print_run(result, json_out)


@app.command()
def resume(run_id: RunId = None, latest: Latest = False, json_out: JsonOut = False) -> None:
    """Continue a run that stopped between steps (a crash, a killed process)."""
    with Harness.open(current_settings()) as h:
        print_run(h.resume(pick_run(run_id, latest), on_event=live_printer(json_out)), json_out)


@app.command()
def history(
    run_id: RunId = None,
    latest: Latest = False,
    event: Annotated[str | None, typer.Option(help="Only events of this name.")] = None,
    tail: Annotated[int | None, typer.Option(help="Only the last N events.")] = None,
    checkpoints: Annotated[
        bool, typer.Option("--checkpoints", help="List checkpoints (for replay/fork) instead.")
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """The run's trace, in order (or its checkpoints with --checkpoints)."""
    if checkpoints:
        from app.cli.timetravel import show_checkpoints

        show_checkpoints(pick_run(run_id, latest), json_out)
        return
    with Harness.open(current_settings(), printing=True) as h:
        events = h.history(pick_run(run_id, latest), event=event, tail=tail)
    if json_out:
        print_json(events)
        return
    for e in events:
        out.print(event_line(e))


@app.command()
def workflow(
    format: Annotated[str, typer.Option("--format", help="json or mermaid.")] = "json",
    mode: Annotated[str, typer.Option(help="linear or fanout.")] = "linear",
) -> None:
    """Print the workflow, read from the compiled graph itself."""
    from app.nodes.workflow import export_workflow, mermaid

    if format not in ("json", "mermaid"):
        raise InputError("--format must be json or mermaid")
    graph = Harness.in_memory(current_settings()).graph(mode)
    if format == "mermaid":
        sys.stdout.write(mermaid(graph) + "\n")
    else:
        print_json(export_workflow(graph))


# Commands of other areas live in their own modules and register on `app` when imported.
EXTRA_COMMAND_MODULES: tuple[str, ...] = (
    "app.cli.eval",
    "app.cli.timetravel",
    "app.cli.doctor",
    "app.cli.retention",
    "app.cli.summary",
    "app.cli.policy",
    "app.cli.memory",
    "app.cli.mcp",
)


def _register_extra_commands() -> None:
    import importlib

    for module in EXTRA_COMMAND_MODULES:
        importlib.import_module(module)


def main() -> None:
    try:
        _register_extra_commands()
        app()  # typer reports usage mistakes itself: a short message, exit code 2
    except RunStopped as exc:
        err.print(f"[yellow]{shown(exc)}[/]")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/] (no run was moving: nothing to resume)")
        sys.exit(130)
    except HarnessError as exc:
        err.print(f"[red]error:[/] {shown(exc)}")
        sys.exit(2)
    except Exception as exc:
        if not is_store_error(exc):
            raise
        # The store went away outside a run (PostgreSQL restarted, the file was damaged).
        err.print(f"[red]error:[/] the run store failed: {shown(first_line(exc))}")
        sys.exit(2)


if __name__ == "__main__":
    main()

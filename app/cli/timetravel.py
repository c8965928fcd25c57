"""Time-travel commands: `harness replay`, `harness fork` (and `history --checkpoints`)."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import (
    JsonOut,
    Latest,
    RunId,
    app,
    current_settings,
    live_printer,
    out,
    pick_run,
    print_json,
    print_run,
    shown,
)
from app.errors import InputError
from app.service.runs import Harness

# app.service.timetravel loads the graph machinery: imported by the commands that use it.

Checkpoint = Annotated[
    str | None,
    typer.Option("--checkpoint", help="Checkpoint id (see `harness history ID --checkpoints`)."),
]


def _need_checkpoint(checkpoint: str | None) -> str:
    if not checkpoint:
        raise InputError("give --checkpoint CID (see `harness history ID --checkpoints`)")
    return checkpoint


def show_checkpoints(run_id: str | None, json_out: bool) -> None:
    """Print a run's checkpoints, oldest first (used by `harness history --checkpoints`)."""
    from app.service import timetravel

    with Harness.open(current_settings()) as h:
        rows = timetravel.checkpoints(h, run_id)
    if json_out:
        print_json(rows)
        return
    # Plain lines, not a table: a checkpoint id must never be cut short to fit the terminal.
    for row in rows:
        mark = "@" if row["head"] else ("*" if row["current"] else " ")
        nxt = ", ".join(row["next"]) or "(end)"
        out.print(
            f"{mark} {row['step']!s:>3} {row['checkpoint_id']}  "
            f"{shown(row['after']):<16} -> {nxt:<16} "
            f"{row['status'] or '':<17}{row['source'] or ''}"
        )
    out.print(
        "[dim]@ current state, * its branch. Replay: harness replay ID --checkpoint CID; "
        "new run: harness fork ID --checkpoint CID [--feedback TEXT][/]"
    )


@app.command()
def replay(
    run_id: RunId = None,
    checkpoint: Checkpoint = None,
    latest: Latest = False,
    json_out: JsonOut = False,
) -> None:
    """Re-run a run from one of its checkpoints (a new branch of the same run)."""
    from app.service import timetravel

    cid = _need_checkpoint(checkpoint)
    with Harness.open(current_settings()) as h:
        result = timetravel.replay(
            h, pick_run(run_id, latest), cid, on_event=live_printer(json_out)
        )
        print_run(result, json_out)


@app.command()
def fork(
    run_id: RunId = None,
    checkpoint: Checkpoint = None,
    feedback: Annotated[
        str | None,
        typer.Option(help="Extra feedback for the redraft (needs a checkpoint before drafting)."),
    ] = None,
    latest: Latest = False,
    json_out: JsonOut = False,
) -> None:
    """Start a new run from a copy of a checkpoint; the original run and report stay as they are."""
    from app.service import timetravel

    cid = _need_checkpoint(checkpoint)
    with Harness.open(current_settings()) as h:
        source = pick_run(run_id, latest)
        result = timetravel.fork(h, source, cid, feedback=feedback, on_event=live_printer(json_out))
        if not json_out:
            out.print(f"Forked run [bold]{result.run_id}[/] from checkpoint {shown(cid)}")
        print_run(result, json_out)

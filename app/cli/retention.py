"""`harness delete ID` and `harness prune`: remove runs with their checkpoints, registry rows and
stored blobs (app/service/retention.py). Report files are never removed."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from app.cli.common import JsonOut, Latest, RunId, app, current_settings, out, pick_run, print_json
from app.service.runs import Harness


def _print(result: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print_json(result)
        return
    verb = "Would delete" if result["dry_run"] else "Deleted"
    for run in result["runs"]:
        out.print(
            f"{verb} {run['run_id']}  {run['status']:<16} {(run['created_at'] or '')[:19]}  "
            f"{escape(run['topic'] or '')}"
        )
    blobs = "" if result["dry_run"] else f", {result['blobs_removed']} stored blob(s)"
    out.print(f"{verb} {len(result['runs'])} run(s){blobs}; report files are kept.")


@app.command()
def delete(
    run_id: RunId = None,
    latest: Latest = False,
    force: Annotated[
        bool, typer.Option("--force", help="Also delete a run that is not finished.")
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """Delete a run: its checkpoints, registry rows and stored blobs (not its report file)."""
    from app.service.retention import delete_run

    with Harness.open(current_settings()) as h:
        result = delete_run(h, pick_run(run_id, latest), force=force)
    _print(result.as_dict(), json_out)


@app.command()
def prune(
    older_than: Annotated[
        str | None, typer.Option(help="Only runs created longer ago than this: 30d, 12h, 2w.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(help="Only runs in these statuses, comma-separated (default: finished)."),
    ] = None,
    keep: Annotated[
        int | None, typer.Option(help="Keep the newest N of the matching runs.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be deleted; delete nothing.")
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """Delete many runs at once by age, status or count (report files are kept)."""
    from app.service.retention import parse_age, parse_statuses
    from app.service.retention import prune as prune_runs

    age = parse_age(older_than) if older_than is not None else None
    statuses = parse_statuses(status) if status is not None else None
    with Harness.open(current_settings()) as h:
        result = prune_runs(h, older_than=age, statuses=statuses, keep=keep, dry_run=dry_run)
    _print(result.as_dict(), json_out)

"""`harness eval FIXTURES.json [--mode linear|fanout|all] [--json]`: run the eval suite.

Prints one table per mode (passed, failed, runs, mean steps, wall time) and the failed checks;
exits 1 when any case failed, 2 for a malformed fixture file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from app.cli.common import JsonOut, app, current_settings, out, print_json, shown


def _mode_table(mode: str, summary: dict[str, Any]) -> Table:
    table = Table(title=f"mode: {mode}", title_justify="left", box=None)
    for column in ("passed", "failed", "runs", "mean steps", "wall time"):
        table.add_column(column, justify="right")
    table.add_row(
        str(summary["passed"]),
        str(summary["failed"]),
        str(summary["runs"]),
        f"{summary['mean_steps']:.1f}",
        f"{summary['wall_s']:.2f}s",
    )
    return table


def _case_table(summary: dict[str, Any]) -> Table:
    table = Table("case", "result", "status", "steps", "facts", "cited", "time", box=None)
    for case in summary["cases"]:
        result = "[green]pass[/]" if case["passed"] else "[red]FAIL[/]"
        table.add_row(
            shown(case["case"]),
            result,
            case["status"],
            str(case["steps"]),
            str(case["facts"]),
            str(case["citations"]),
            f"{case['wall_s']:.2f}s",
        )
    return table


@app.command("eval")
def eval_command(
    fixtures: Annotated[
        Path, typer.Argument(help="Fixture file (JSON), e.g. app/data/eval_fixtures.json.")
    ],
    mode: Annotated[str, typer.Option(help="linear, fanout or all.")] = "all",
    json_out: JsonOut = False,
) -> None:
    """Run fixture cases through each orchestration mode and compare the results."""
    from app.service.eval import load_fixtures, parse_modes, run_eval  # the graphs: only here

    modes = parse_modes(mode)
    cases = load_fixtures(fixtures)
    summary = run_eval(cases, modes, current_settings())
    summary["fixtures"] = str(fixtures)
    if json_out:
        print_json(summary)
    else:
        for name, result in summary["modes"].items():
            out.print(_mode_table(name, result))
            out.print(_case_table(result))
            for case in result["cases"]:
                for check in case["checks"]:
                    if not check["ok"]:
                        out.print(
                            f"  [red]{shown(case['case'])}[/]: {shown(check['check'])}: "
                            f"{shown(check['detail'])}"
                        )
            out.print()
        verdict = "[green]all cases passed[/]" if summary["passed"] else "[red]some cases failed[/]"
        out.print(verdict)
    if not summary["passed"]:
        raise typer.Exit(1)

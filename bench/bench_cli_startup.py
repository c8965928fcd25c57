"""CLI start-up: wall and CPU time of `harness --help`, `harness list` and `harness show ID` in
fresh processes, against two baselines measured in the same run: an empty interpreter
(`python -c pass`) and the import set every command paid before (the graph, the nodes, the
model client and `openai`, i.e. what `app.cli.main` loaded at start-up until issue 15).

Target: `list` and `show` under 0.5 s wall on an idle machine. The home holds a few finished
runs and one waiting at the gate, so `show` reads a pending interrupt.
"""

from __future__ import annotations

import os
import sys

from app.service.runs import Harness
from bench.common import (
    TOPIC,
    Report,
    bench_settings,
    measure,
    median,
    parser,
    quiet_env,
    temp_home,
)

# What every command imported at start-up before: app.service.runs pulled in the graph and
# the nodes, app.cli.doctor the model client and openai.
OLD_IMPORT_SET = (
    "import typer, rich.table, langgraph.graph, langgraph.types, graphs.harness, "
    "app.nodes.steps, app.models.chat, openai, app.service.eval, app.service.timetravel"
)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, help="processes per command; the median counts")
    args = p.parse_args(argv)
    quiet_env()
    trials = args.trials or (2 if args.quick else 9)
    report = Report("bench_cli_startup", "time to run light CLI commands", args)
    harness_bin = os.path.join(os.path.dirname(sys.executable), "harness")
    with temp_home() as home:
        settings = bench_settings(home)
        with Harness.open(settings) as h:
            for _ in range(3):
                h.approve(h.start(TOPIC).run_id)
            waiting = h.start("Heat pump noise").run_id
        env = {**os.environ, "HARNESS_HOME": str(home)}
        commands = {
            "empty_python": [sys.executable, "-c", "pass"],
            "old_import_set": [sys.executable, "-c", OLD_IMPORT_SET],
            "help": [harness_bin, "--help"],
            "list": [harness_bin, "list"],
            "show": [harness_bin, "show", waiting],
        }
        for cmd in commands.values():
            measure(cmd, env)  # warm the page cache and .pyc files
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(trials):  # interleaved, so every command shares the same noise
            for name, cmd in commands.items():
                run = measure(cmd, env)
                wall, cpu = run.wall, run.cpu
                walls[name].append(wall)
                cpus[name].append(cpu)
    report.note(f"{trials} processes per command, interleaved; medians; load average "
                f"{os.getloadavg()[0]:.2f} at the end")
    for name in commands:
        report.figure(f"{name}_wall_ms", 1000 * median(walls[name]), "ms", fmt="{:,.0f}")
        report.figure(f"{name}_cpu_ms", 1000 * median(cpus[name]), "ms", fmt="{:,.0f}")
    old = median(walls["old_import_set"])
    for name in ("help", "list", "show"):
        report.ratio(
            f"{name}_speedup_vs_old_import_set",
            old / median(walls[name]),
            meaning="how many times faster than importing what every command loaded before",
        )
    for name in ("list", "show"):
        report.target(f"{name}_wall_ms", 1000 * median(walls[name]), 500, "ms", below=True)
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Durability modes: time per full offline run (start to the gate, approve, report) with
LangGraph's `durability="sync"` (what the harness uses), `"async"` and `"exit"`, on the SQLite
store and, with `--postgres URL` (runs are left in that database), on PostgreSQL.

`sync` is the baseline: the ratios say how much faster the weaker modes are, i.e. what the
crash safety of `sync` costs (see README, Durability).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.service.runs import Harness
from app.store.factory import open_store
from bench.common import (
    TOPIC,
    Report,
    bench_settings,
    median,
    parser,
    quiet_env,
    temp_home,
    timed,
)

MODES = ("sync", "async", "exit")


def batch(h: Harness, n: int) -> None:
    for _ in range(n):
        run = h.start(TOPIC)
        assert run.status == "waiting_approval", run.status
        assert h.approve(run.run_id).status == "completed"


def measure(settings: Any, n: int, trials: int) -> dict[str, float]:
    """Milliseconds per run for each mode; trials interleave the modes to share the noise."""
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    with open_store(settings) as store:
        harnesses = {mode: Harness(store, settings, durability=mode) for mode in MODES}
        for h in harnesses.values():
            batch(h, 1)  # warm-up: graph compilation, corpus cache, pages
        for _ in range(trials):
            for mode, h in harnesses.items():
                times[mode].append(timed(lambda h=h: batch(h, n))[0])
    return {mode: 1000 * median(values) / n for mode, values in times.items()}


def child(n: int, old_way: bool) -> None:
    """One warm-up run and `n` measured ones in this process (run under strace by the parent).
    `old_way`: every checkpoint commit fsynced (synchronous=FULL), no sync at the stops."""
    with temp_home() as home, open_store(bench_settings(home)) as store:
        if old_way:
            store.checkpointer.conn.execute("PRAGMA synchronous=FULL")
            store = replace(store, sync=None)
        batch(Harness(store, bench_settings(home)), 1 + n)


# One call per match: strace splits a call another thread interrupts into an "<unfinished ...>"
# line and a "<... resumed>" line, and -y names the file each descriptor is.
SYNC_CALL = re.compile(r"\b(?:fsync|fdatasync)\(\d+<([^>]*)>")


def run_syncs(strace_log: str) -> int:
    """The fsync/fdatasync calls of a run's own files in an strace log. The corpus index's are
    left out: the warm-up builds it, and how often tantivy syncs its segments varies from one
    build to the next (a quick CI run once counted more for 0 runs than for 2)."""
    return sum(1 for path in SYNC_CALL.findall(strace_log) if "/index/" not in path)


def syncs_per_run(n: int, old_way: bool) -> float | None:
    """fsync + fdatasync calls per full run, counted with strace (None without strace)."""
    if shutil.which("strace") is None:
        return None
    counts = []
    for runs in (0, n):
        with tempfile.NamedTemporaryFile(suffix=".strace") as log:
            cmd = [
                "strace", "-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", "-o", log.name,
                sys.executable, "-m", "bench.bench_durability", "--child", str(runs),
            ]
            subprocess.run(cmd + (["--old-way"] if old_way else []), check=True,
                           cwd=Path(__file__).resolve().parents[1], env=dict(os.environ))
            counts.append(run_syncs(Path(log.name).read_text()))
    return (counts[1] - counts[0]) / n


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--old-way", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--runs", type=int, help="runs per trial (default 40, quick 2)")
    p.add_argument("--trials", type=int, help="interleaved trials; the median counts (default 3)")
    p.add_argument("--postgres", metavar="URL", help="also measure on this PostgreSQL database")
    args = p.parse_args(argv)
    quiet_env()
    if args.child is not None:
        child(args.child, args.old_way)
        return 0
    n = args.runs or (2 if args.quick else 40)
    trials = args.trials or (1 if args.quick else 3)
    report = Report("bench_durability", "time per run by durability mode", args)
    report.note(f"{n} runs per trial, {trials} trial(s); baseline: durability='sync'")

    stores: dict[str, dict[str, str]] = {"sqlite": {}}
    if args.postgres:
        stores["postgres"] = {"database_url": args.postgres}
    for store_name, extra in stores.items():
        with temp_home() as home:
            ms = measure(bench_settings(home, **extra), n, trials)
        for mode in MODES:
            report.figure(f"{store_name}_{mode}_ms_per_run", ms[mode], "ms")
        for mode in ("async", "exit"):
            report.ratio(
                f"{store_name}_{mode}_vs_sync",
                ms["sync"] / ms[mode],
                meaning=f"how much faster '{mode}' is than 'sync' (>1: faster)",
            )
    now, before = syncs_per_run(n, old_way=False), syncs_per_run(n, old_way=True)
    if now is not None and before is not None:
        report.note("durable syncs per run (strace: fsync + fdatasync), SQLite, sync mode")
        report.figure("sqlite_syncs_per_run", now, "syncs", fmt="{:.1f}")
        report.figure("sqlite_syncs_per_run_fsync_every_commit", before, "syncs", fmt="{:.1f}")
        report.ratio("sqlite_syncs_saved", before / now,
                     meaning="fsync per commit (before issue 15) over fsync at the stops")
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Store cost: bytes in the SQLite checkpoint DB per completed run, how that grows with the
number of revisions (reject with feedback N times, then approve) and trace events, and the time
to list 1,000 runs.

Bytes are counted per table with SQLite's dbstat (pages in use x page size, indexes included)
after the WAL has been checkpointed, so free pages and the WAL file do not blur the figure.
Baselines measured in the same run: the same checkpointer under a bare no-op LangGraph graph of
the same shape, and the seed's way of storing a run (one JSON file with the final state).

    python -m bench.bench_store [--quick] [--runs N] [--list-runs N]
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from app.service.runs import Harness
from app.state import json_default
from app.store.factory import open_store
from bench.bench_overhead import bare_batch, build_bare_graph, loop_run, make_steps
from bench.common import TOPIC, Report, bench_settings, median, parser, quiet_env, temp_home

TARGET_BYTES_PER_RUN = 200 * 1024


def table_bytes(db: Path) -> dict[str, int]:
    """Bytes of pages in use per table (its indexes counted with it); needs SQLite's dbstat."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master").fetchall())
        sizes: dict[str, int] = {}
        try:
            rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
        except sqlite3.OperationalError:  # SQLite built without dbstat: whole-file size
            page = conn.execute("PRAGMA page_size").fetchone()[0]
            used = conn.execute("PRAGMA page_count").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            return {"(all tables)": (used - free) * page}
        for name, size in rows:
            table = owner.get(name, name)
            sizes[table] = sizes.get(table, 0) + int(size)
        return sizes
    finally:
        conn.close()


def checkpoint_bytes(sizes: dict[str, int]) -> int:
    return sum(v for k, v in sizes.items() if not k.startswith("harness_"))


def complete_run(h: Harness, topic: str, rejections: int = 0) -> dict[str, Any]:
    run = h.start(topic)
    for i in range(rejections):
        run = h.reject(run.run_id, feedback=f"Revision {i + 1}: say more about costs.")
    run = h.approve(run.run_id)
    if run.status != "completed":
        raise RuntimeError(f"run ended {run.status}: {run.values.get('error')}")
    return run.values


def count_checkpoints(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
    finally:
        conn.close()


def measure_runs(root: Path, name: str, runs: int, rejections: int) -> dict[str, float]:
    home = root / name
    settings = bench_settings(home, max_revisions=max(rejections, 0))
    with Harness.open(settings):
        pass
    empty = table_bytes(settings.sqlite_path)
    values: dict[str, Any] = {}
    with Harness.open(settings) as h:
        for i in range(runs):
            values = complete_run(h, f"{TOPIC} #{i}", rejections)
    full = table_bytes(settings.sqlite_path)
    delta = {k: full.get(k, 0) - empty.get(k, 0) for k in full}
    return {
        "bytes_per_run": sum(delta.values()) / runs,
        "checkpoint_bytes_per_run": checkpoint_bytes(delta) / runs,
        "registry_bytes_per_run": (sum(delta.values()) - checkpoint_bytes(delta)) / runs,
        "checkpoints_table_bytes_per_run": delta.get("checkpoints", 0) / runs,
        "writes_table_bytes_per_run": delta.get("writes", 0) / runs,
        "checkpoints_per_run": count_checkpoints(settings.sqlite_path) / runs,
        "trace_events": len(values.get("trace") or []),
        "final_state_json_bytes": len(json.dumps(values, default=json_default)),
    }


def bare_bytes_per_run(root: Path, runs: int) -> float:
    settings = bench_settings(root / "bare")
    with open_store(settings):
        pass
    empty = table_bytes(settings.sqlite_path)
    with open_store(settings) as store:
        bare_batch(build_bare_graph(store.checkpointer), runs)
    full = table_bytes(settings.sqlite_path)
    return sum(full.get(k, 0) - empty.get(k, 0) for k in full) / runs


def json_bytes_per_run(root: Path, runs: int) -> float:
    folder = root / "loop" / "state"
    folder.mkdir(parents=True)
    steps = make_steps(bench_settings(root / "loop"))
    for i in range(runs):
        loop_run(steps, f"{TOPIC} #{i}", folder / f"run-{i}.json")
    return sum(f.stat().st_size for f in folder.iterdir()) / runs


def time_list(root: Path, n: int, repeats: int) -> dict[str, float]:
    settings = bench_settings(root / "list")
    with Harness.open(settings) as h:
        started = time.perf_counter()
        for i in range(n):
            # Half completed, the rest waiting at the gate: what a busy store holds.
            run = h.start(f"{TOPIC} #{i}", run_id=uuid.uuid4().hex)
            if i % 2 == 0:
                h.approve(run.run_id)
        fill = time.perf_counter() - started
    with Harness.open(settings) as h:
        listed = h.list(limit=n)  # warm: graph compiled, pages cached
        if len(listed) != n:
            raise RuntimeError(f"list returned {len(listed)} runs, expected {n}")
        api, registry = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            h.list(limit=n)
            api.append(time.perf_counter() - started)
            started = time.perf_counter()
            h.store.registry.list_runs(n)
            registry.append(time.perf_counter() - started)
    return {"fill_s": fill, "api_s": median(api), "registry_s": median(registry)}


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, help="completed runs per measurement (default 20, quick 2)")
    p.add_argument("--list-runs", type=int, help="runs in the store for the list timing "
                   "(default 1000, quick 20)")
    args = p.parse_args(argv)
    quiet_env()
    runs = args.runs or (2 if args.quick else 20)
    list_n = args.list_runs or (20 if args.quick else 1000)
    revisions = (0, 1) if args.quick else (0, 1, 2, 4, 8)
    report = Report("bench_store", "checkpoint DB bytes per run, growth, list time", args)

    with temp_home() as root:
        base = measure_runs(root, "harness", runs, 0)
        bare = bare_bytes_per_run(root, runs)
        seed = json_bytes_per_run(root, runs)
        report.note(f"{runs} completed runs per measurement; bytes from dbstat (pages in use)")
        report.figure("bytes_per_completed_run", base["bytes_per_run"], "B", "{:,.0f}")
        report.figure("checkpoint_bytes_per_run", base["checkpoint_bytes_per_run"], "B", "{:,.0f}")
        for table in ("checkpoints_table", "writes_table", "registry"):
            key = f"{table}_bytes_per_run"
            report.figure(key, base[key], "B", "{:,.0f}")
        report.figure("checkpoints_per_run", base["checkpoints_per_run"], "", "{:.1f}")
        report.figure("final_state_json_bytes", base["final_state_json_bytes"], "B")
        report.figure("bare_langgraph_bytes_per_run", bare, "B", "{:,.0f}")
        report.figure("json_state_file_bytes_per_run", seed, "B", "{:,.0f}")
        report.target("bytes_per_completed_run", base["bytes_per_run"], TARGET_BYTES_PER_RUN,
                      "B", below=True)
        report.ratio("harness_vs_bare_langgraph_bytes", base["bytes_per_run"] / bare,
                     higher_is_better=False, meaning="DB bytes per run over the no-op graph's")
        report.ratio("harness_vs_json_state_file_bytes", base["bytes_per_run"] / seed,
                     higher_is_better=False,
                     meaning="DB bytes per run (every step kept) over one final JSON state file")

        report.note("growth: reject with feedback N times, then approve")
        report.note(f"{'revisions':>9} {'checkpoints':>11} {'trace ev':>8} "
                    f"{'state B':>9} {'DB B/run':>10} {'B/checkpoint':>12}")
        growth = []
        for n in revisions:
            m = base if n == 0 else measure_runs(root, f"rev{n}", max(1, runs // 4), n)
            growth.append((n, m))
            report.note(
                f"{n:>9} {m['checkpoints_per_run']:>11.0f} {m['trace_events']:>8} "
                f"{m['final_state_json_bytes']:>9,} {m['bytes_per_run']:>10,.0f} "
                f"{m['bytes_per_run'] / m['checkpoints_per_run']:>12,.0f}"
            )
            report.figure(f"bytes_per_run_rev{n}", m["bytes_per_run"], "B", "{:,.0f}")
            report.figure(f"trace_events_rev{n}", m["trace_events"], "events")
        (n0, m0), (n1, m1) = growth[0], growth[-1]
        per_rev = (m1["bytes_per_run"] - m0["bytes_per_run"]) / (n1 - n0)
        per_event = (m1["bytes_per_run"] - m0["bytes_per_run"]) / max(
            1, m1["trace_events"] - m0["trace_events"]
        )
        report.figure("bytes_per_extra_revision", per_rev, "B", "{:,.0f}")
        report.figure("bytes_per_extra_trace_event", per_event, "B", "{:,.0f}")
        report.ratio(f"bytes_rev{n1}_vs_rev0", m1["bytes_per_run"] / m0["bytes_per_run"],
                     higher_is_better=False,
                     meaning=f"a run with {n1} revision(s) over a run with none")

        t = time_list(root, list_n, repeats=1 if args.quick else 3)
        report.note(f"list: {list_n} runs in the store (filled in {t['fill_s']:.1f} s)")
        report.figure(f"list_{list_n}_runs_ms", t["api_s"] * 1000, "ms")
        report.figure(f"registry_list_{list_n}_runs_ms", t["registry_s"] * 1000, "ms")
        report.figure("list_ms_per_run", t["api_s"] * 1000 / list_n, "ms", "{:.3f}")
        report.ratio("list_api_vs_registry_query", t["api_s"] / t["registry_s"],
                     higher_is_better=False,
                     meaning="Harness.list over the bare registry SELECT")
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

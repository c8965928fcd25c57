"""Profile the harness's own hot path: a batch of full offline runs (topic -> approval -> report,
auto-approved) through the Python API on the SQLite store, under cProfile in every thread
(LangGraph runs sync nodes in a thread pool, which a main-thread-only profile never sees).

Self time is split by who owns the code: ours (app/, graphs/), LangGraph/LangChain, checkpoint
serialization, SQLite, disk flushes (fsync), pydantic, and time spent waiting on locks and
queues (threads handing work to each other). Our functions and the framework's are listed
with their time per run. The baseline measured in the same run is the same batch without the
profiler, so the profiler's own overhead is visible.

    python -m bench.profile_hot_path [--quick] [--runs N] [--top K]
"""

from __future__ import annotations

import cProfile
import pstats
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

from app.service.runs import Harness
from bench.bench_overhead import harness_batch
from bench.common import Report, bench_settings, parser, quiet_env, temp_home, timed

REPO = str(Path(__file__).resolve().parents[1])
OURS = (f"{REPO}/app/", f"{REPO}/graphs/")

# (category, test on (filename, function name)); first match wins.
CATEGORIES: tuple[tuple[str, Any], ...] = (
    ("ours", lambda f, n: f.startswith(OURS)),
    ("waiting (locks, queues, threads)", lambda f, n: f == "~" and (
        "acquire" in n or "_queue.SimpleQueue" in n or "start_new_thread" in n)),
    ("disk flush (fsync)", lambda f, n: f == "~" and "fsync" in n),
    ("SQLite (execute, commit)", lambda f, n: "sqlite3" in n or "/checkpoint/sqlite/" in f),
    ("checkpoint serialization", lambda f, n: "ormsgpack" in n or "/checkpoint/serde/" in f),
    ("pydantic", lambda f, n: "/pydantic" in f or "pydantic_core" in n),
    ("LangGraph / LangChain", lambda f, n: "/langgraph/" in f or "/langchain_core/" in f),
    ("BM25 (rank_bm25)", lambda f, n: "rank_bm25" in f),
)


def category(filename: str, name: str) -> str:
    for label, test in CATEGORIES:
        if test(filename, name):
            return label
    return "other (stdlib, builtins)"


class ThreadProfiler:
    """One cProfile.Profile per thread, merged at the end."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _start_in_thread(self, *_: Any) -> None:
        profile = cProfile.Profile()
        with self._lock:
            self.profiles.append(profile)
        profile.enable()  # replaces this hook for the thread

    def __enter__(self) -> ThreadProfiler:
        threading.setprofile(self._start_in_thread)
        self._start_in_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        threading.setprofile(None)
        self.profiles[0].disable()

    def stats(self) -> pstats.Stats:
        stats = pstats.Stats(self.profiles[0])
        for profile in self.profiles[1:]:
            profile.create_stats()
            stats.add(profile)
        return stats


def label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    short = filename.replace(REPO + "/", "")
    if "site-packages/" in short:
        short = short.split("site-packages/", 1)[1]
    return f"{short}:{line}({name})"


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, help="runs in the profiled batch (default 200, quick 5)")
    p.add_argument("--top", type=int, default=12, help="functions to list per table")
    args = p.parse_args(argv)
    quiet_env()
    n = args.runs or (5 if args.quick else 200)
    report = Report("profile_hot_path", "where a full offline run spends its time", args)

    with temp_home() as root, Harness.open(bench_settings(root / "home")) as h:
        harness_batch(h, 3)  # warm-up: imports, graph compilation, corpus cache
        baseline_s, _ = timed(lambda: harness_batch(h, n))
        with ThreadProfiler() as profiler:
            profiled_s, _ = timed(lambda: harness_batch(h, n))
    stats = profiler.stats()

    by_category: dict[str, float] = defaultdict(float)
    ours: list[tuple[float, float, str]] = []
    theirs: list[tuple[float, str]] = []
    for func, (_cc, _nc, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        cat = category(func[0], func[2])
        by_category[cat] += tottime
        if cat == "ours":
            ours.append((tottime, cumtime, label(func)))
        elif not cat.startswith("waiting"):
            theirs.append((tottime, f"[{cat}] {label(func)}"))
    total = sum(by_category.values())
    busy = total - by_category.get("waiting (locks, queues, threads)", 0.0)

    report.note(f"{n} runs; {len(profiler.profiles)} threads profiled; "
                f"self time summed over threads: {total * 1000 / n:.1f} ms/run")
    report.figure("unprofiled_ms_per_run", baseline_s * 1000 / n, "ms")
    report.figure("profiled_ms_per_run", profiled_s * 1000 / n, "ms")
    report.note("self time per run by owner (busy = not waiting on another thread):")
    for cat, seconds in sorted(by_category.items(), key=lambda kv: -kv[1]):
        share = "" if cat.startswith("waiting") else f"  {100 * seconds / busy:5.1f}% of busy"
        report.note(f"  {seconds * 1000 / n:8.3f} ms  {cat}{share}")
    key = {c: c.split(" ")[0].lower().strip("(/") for c in by_category}
    for cat, seconds in by_category.items():
        report.figure(f"self_ms_per_run[{key[cat]}]", seconds * 1000 / n, "ms", "{:.3f}")
    report.note("ours, by self time (ms/run self, ms/run cumulative):")
    for tottime, cumtime, name in sorted(ours, reverse=True)[: args.top]:
        report.note(f"  {tottime * 1000 / n:7.3f} {cumtime * 1000 / n:8.3f}  {name}")
    report.note("framework and libraries, by self time (ms/run):")
    for tottime, name in sorted(theirs, reverse=True)[: args.top]:
        report.note(f"  {tottime * 1000 / n:7.3f}  {name}")
    report.ratio("ours_share_of_busy_time", by_category.get("ours", 0.0) / busy,
                 meaning="our code's self time over all non-waiting self time")
    report.ratio("profiled_vs_unprofiled", profiled_s / baseline_s, higher_is_better=False,
                 meaning="the profiler's own overhead on this batch")
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

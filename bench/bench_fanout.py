"""Fan-out concurrency: wall time from topic to the approval gate for N sub-questions when each
fact-extraction "model" call takes DELAY ms, with the workers running

  (a) concurrently: the fan-out graph as shipped (LangGraph runs the Send tasks of one step in
      its thread pool);
  (b) one after another: the same graph, same store, with `max_concurrency=1` (the baseline);

and, for reference, (c) the linear graph, which asks the model once for all questions.

The "model" is a fake FactExtractor that sleeps DELAY ms and then runs the offline extractor, so
the figures isolate orchestration. Also reported: the peak number of model calls in flight.

    python -m bench.bench_fanout [--quick] [--workers N] [--delay-ms MS] [--trials T]
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from app.research.facts import OfflineFactExtractor
from app.research.roles import Roles, offline_roles
from app.service.runs import DURABILITY
from app.store.factory import open_store
from bench.common import TOPIC, Report, bench_settings, median, parser, quiet_env, temp_home, timed
from graphs.harness import build_graph as build_linear
from graphs.research_team import build_graph as build_fanout

ANGLES = (
    "how it works",
    "performance and costs",
    "limitations and risks",
    "installation and sizing",
    "noise",
    "maintenance",
    "history",
    "grid and emissions",
    "defrost cycles",
    "refrigerants",
)


class FixedPlanner:
    """Plans exactly `n` sub-questions, so every trial fans out to the same number of workers."""

    provider = "bench-fixed"

    def __init__(self, n: int):
        if not 1 <= n <= len(ANGLES):
            raise SystemExit(f"--workers must be between 1 and {len(ANGLES)}")
        self.n = n

    def plan(self, topic: str) -> list[str]:
        subject = topic.strip().rstrip("?.!")
        return [f"{subject}: {angle}" for angle in ANGLES[: self.n]]


class SlowFacts(OfflineFactExtractor):
    """A fact extractor that takes `delay` seconds per call, like a remote model; records calls."""

    provider = "bench-slow"

    def __init__(self, delay: float):
        self.delay = delay
        self.calls: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def extract(self, topic, questions, documents):
        started = time.perf_counter()
        time.sleep(self.delay)
        facts = super().extract(topic, questions, documents)
        with self._lock:
            self.calls.append((started, time.perf_counter()))
        return facts

    def peak_in_flight(self) -> int:
        edges = sorted([(s, 1) for s, _ in self.calls] + [(e, -1) for _, e in self.calls])
        peak = current = 0
        for _t, step in edges:
            current += step
            peak = max(peak, current)
        return peak


def to_gate(graph: CompiledStateGraph, extra: dict[str, Any]) -> None:
    config = {"configurable": {"thread_id": uuid.uuid4().hex}, **extra}
    graph.invoke({"topic": TOPIC}, config, durability=DURABILITY)
    snapshot = graph.get_state(config)
    if not snapshot.interrupts:
        raise RuntimeError(f"run did not reach the gate: {snapshot.values.get('error')}")


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=5, help="sub-questions to fan out (default 5)")
    p.add_argument("--delay-ms", type=float, default=200, help="model delay per call (200)")
    p.add_argument("--trials", type=int, help="trials, interleaved; the median counts (5, quick 1)")
    args = p.parse_args(argv)
    quiet_env()
    n, delay = args.workers, args.delay_ms / 1000
    trials = args.trials or (1 if args.quick else 5)
    report = Report("bench_fanout", "fan-out workers vs the same workers one at a time", args)
    report.note(
        f"{n} sub-questions, {args.delay_ms:g} ms per model call, {trials} trial(s), "
        f"SQLite store, durability={DURABILITY!r}; time = topic -> approval gate"
    )

    times: dict[str, list[float]] = {"fanout": [], "sequential": [], "linear": []}
    with temp_home() as root:
        settings = bench_settings(root)
        base = offline_roles()
        facts = {k: SlowFacts(delay) for k in times}
        graphs = {}
        with open_store(settings) as store:
            for kind, build in (("fanout", build_fanout), ("sequential", build_fanout),
                                ("linear", build_linear)):
                roles = Roles(FixedPlanner(n), facts[kind], base.drafter, base.reviewer)
                graphs[kind] = build(store.checkpointer, settings=settings, roles=roles)
            extra = {"fanout": {}, "sequential": {"max_concurrency": 1}, "linear": {}}
            for kind in times:  # warm-up: imports, corpus cache, SQLite pages
                to_gate(graphs[kind], extra[kind])
            peak_fanout = facts["fanout"].peak_in_flight()
            peak_sequential = facts["sequential"].peak_in_flight()
            for _ in range(trials):
                for kind in times:
                    times[kind].append(timed(lambda k=kind: to_gate(graphs[k], extra[k]))[0])

    ms = {k: median(v) * 1000 for k, v in times.items()}
    report.figure("fanout_to_gate_ms", ms["fanout"], "ms")
    report.figure("sequential_to_gate_ms", ms["sequential"], "ms")
    report.figure("linear_to_gate_ms", ms["linear"], "ms")
    report.figure("model_time_if_serial_ms", n * args.delay_ms, "ms")
    report.figure("peak_model_calls_in_flight_fanout", peak_fanout)
    report.figure("peak_model_calls_in_flight_sequential", peak_sequential)
    report.target(
        "fanout_to_gate_ms", ms["fanout"], n * args.delay_ms / 2, "ms", below=True
    )
    report.ratio(
        "fanout_speedup_vs_sequential",
        ms["sequential"] / ms["fanout"],
        target=3.0 if n >= 5 else None,
        meaning="sequential wall time over fan-out wall time, same graph and store",
    )
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

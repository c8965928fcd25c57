"""Server: N concurrent threads through `langgraph dev` (the in-memory API server Studio talks
to), each started to the approval interrupt and then resumed with an approval, via
langgraph-sdk. Reports whether all complete and the p50/p95 latency per run (start -> gate ->
approve -> completed), against the baseline measured in the same run: the same runs one at a
time on the same server.

    python -m bench.bench_server [--quick] [--threads N] [--jobs-per-worker J]
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from bench.common import TOPIC, Report, median, parser, percentile, quiet_env, temp_home

REPO = Path(__file__).resolve().parents[1]
GRAPH = "harness"


def server_config(tmp: Path) -> Path | None:
    """The shipped langgraph.json, minus a developer's .env that could leak settings in."""
    if not (REPO / ".env").exists():
        return None
    config = json.loads((REPO / "langgraph.json").read_text())
    config.pop("env", None)
    path = tmp / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


async def one_run(client: Any, topic: str) -> dict[str, float]:
    started = time.perf_counter()
    thread = await client.threads.create()
    gate = await client.runs.wait(thread["thread_id"], GRAPH, input={"topic": topic})
    at_gate = time.perf_counter()
    if not isinstance(gate, dict) or gate.get("status") != "waiting_approval":
        raise RuntimeError(f"run did not stop at the gate: {str(gate)[:300]}")
    done = await client.runs.wait(
        thread["thread_id"], GRAPH, command={"resume": {"decision": "approve", "by": "bench"}}
    )
    finished = time.perf_counter()
    if not isinstance(done, dict) or done.get("status") != "completed":
        raise RuntimeError(f"run did not complete after approval: {str(done)[:300]}")
    return {"total": finished - started, "to_gate": at_gate - started, "resume": finished - at_gate}


async def drive(url: str, topics: list[str], concurrent: bool) -> tuple[float, list[dict]]:
    from langgraph_sdk import get_client

    client = get_client(url=url, api_key=None, timeout=600)
    started = time.perf_counter()
    if concurrent:
        results = await asyncio.gather(*(one_run(client, t) for t in topics))
    else:
        results = [await one_run(client, t) for t in topics]
    return time.perf_counter() - started, list(results)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, help="concurrent threads (default 50, quick 4)")
    p.add_argument("--sequential", type=int, help="baseline runs one at a time (5, quick 2)")
    p.add_argument("--jobs-per-worker", type=int, default=None,
                   help="langgraph dev --n-jobs-per-worker (its default is 10)")
    p.add_argument("--startup-timeout", type=float, default=180)
    args = p.parse_args(argv)
    quiet_env()

    from tests.integration.langgraph_server import serve_langgraph_dev, server_available

    reason = server_available()
    if reason is not None:
        raise SystemExit(f"error: cannot run langgraph dev: {reason}")
    n = args.threads or (4 if args.quick else 50)
    seq = args.sequential or (2 if args.quick else 5)
    report = Report("bench_server", f"{n} concurrent threads through langgraph dev", args)
    extra = ["--n-jobs-per-worker", str(args.jobs_per_worker)] if args.jobs_per_worker else []

    with temp_home() as tmp:
        home = tmp / "home"
        env: dict[str, str | None] = {
            name: None for name in os.environ if name.startswith(("HARNESS_", "OPENAI_"))
        }
        env.update(HARNESS_HOME=str(home), HARNESS_RETRY_INTERVAL="0")
        started = time.perf_counter()
        with serve_langgraph_dev(REPO, env=env, timeout=args.startup_timeout,
                                 config=server_config(tmp), extra_args=extra) as url:
            report.figure("server_startup_s", time.perf_counter() - started, "s")
            # Warm-up: the first run imports and compiles the graph in the server.
            asyncio.run(drive(url, [f"{TOPIC} warm-up"], concurrent=False))
            seq_wall, seq_runs = asyncio.run(
                drive(url, [f"{TOPIC} seq #{i}" for i in range(seq)], concurrent=False)
            )
            con_wall, con_runs = asyncio.run(
                drive(url, [f"{TOPIC} #{i}" for i in range(n)], concurrent=True)
            )
        reports = sorted((home / "reports").glob("*.md"))

    totals = [r["total"] for r in con_runs]
    seq_totals = [r["total"] for r in seq_runs]
    report.note(f"jobs per worker: {args.jobs_per_worker or 'default (10)'}; "
                f"{len(reports)} report files written for {n + seq + 1} runs")
    report.figure("concurrent_runs_completed", len(con_runs), f"of {n}")
    report.figure("concurrent_wall_s", con_wall, "s")
    report.figure("concurrent_runs_per_s", n / con_wall, "runs/s")
    report.figure("concurrent_p50_ms", percentile(totals, 50) * 1000, "ms")
    report.figure("concurrent_p95_ms", percentile(totals, 95) * 1000, "ms")
    report.figure("concurrent_max_ms", max(totals) * 1000, "ms")
    report.figure("concurrent_p50_to_gate_ms",
                  percentile([r["to_gate"] for r in con_runs], 50) * 1000, "ms")
    report.figure("concurrent_p50_resume_ms",
                  percentile([r["resume"] for r in con_runs], 50) * 1000, "ms")
    report.figure("sequential_runs_per_s", seq / seq_wall, "runs/s")
    report.figure("sequential_p50_ms", median(seq_totals) * 1000, "ms")
    if len(reports) != n + seq + 1:
        raise SystemExit(f"error: expected {n + seq + 1} report files, found {len(reports)}")
    report.ratio("concurrent_vs_sequential_throughput", (n / con_wall) / (seq / seq_wall),
                 meaning="runs/s with all threads at once over runs/s one at a time")
    report.ratio("concurrent_p50_vs_sequential_latency",
                 percentile(totals, 50) / median(seq_totals), higher_is_better=False,
                 meaning="how much longer a run takes when it shares the server")
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

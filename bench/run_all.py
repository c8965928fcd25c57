"""Run every benchmark, each in its own process, and print a summary of their ratios.

    python -m bench.run_all            # full sizes (minutes; `make bench`)
    python -m bench.run_all --quick    # tiny sizes, the CI smoke
    python -m bench.run_all --only bench_store --out results/

Exits non-zero only when a benchmark broke; a target that is not met is reported, not failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = (
    "bench_overhead",
    "bench_durability",
    "bench_store",
    "bench_fanout",
    "bench_server",
    "profile_hot_path",
    "bench_cli_startup",
    "bench_state_size",
    "bench_quality",
    "bench_corpus_scale",
)


def server_missing() -> str | None:
    sys.path.insert(0, str(REPO))
    try:
        from tests.integration.langgraph_server import server_available
    except ImportError as exc:
        return f"tests/integration/langgraph_server.py is not importable ({exc})"
    return server_available()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (CI smoke)")
    p.add_argument("--only", action="append", choices=BENCHMARKS, help="run only these")
    p.add_argument("--out", metavar="DIR", help="keep each benchmark's JSON figures here")
    args = p.parse_args(argv)

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="harness-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    summary: list[str] = []
    for name in args.only or BENCHMARKS:
        if importlib.util.find_spec(f"bench.{name}") is None:
            summary.append(f"{name}: skipped (bench/{name}.py does not exist)")
            continue
        if name == "bench_server" and (reason := server_missing()):
            summary.append(f"{name}: skipped ({reason})")
            continue
        result = out / f"{name}.json"
        cmd = [sys.executable, "-m", f"bench.{name}", "--json", str(result)]
        cmd += ["--quick"] if args.quick else []
        print(f"\n$ {' '.join(cmd[1:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.call(cmd, cwd=REPO)
        took = time.perf_counter() - started
        if code != 0 or not result.exists():
            failed.append(name)
            summary.append(f"{name}: FAILED (exit {code}) after {took:.0f} s")
            continue
        data = json.loads(result.read_text())
        summary.append(f"{name} ({took:.0f} s)")
        for key, ratio in data["ratios"].items():
            verdict = "" if ratio["met"] is None else ("  met" if ratio["met"] else "  NOT met")
            summary.append(f"    ratio {key}: {ratio['value']:.2f}x{verdict}")
        for key, target in data.get("targets", {}).items():
            summary.append(f"    target {key}: {'met' if target['met'] else 'NOT met'}")

    print("\n== summary" + (" (quick)" if args.quick else ""))
    print("\n".join(summary))
    print(f"figures as JSON in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

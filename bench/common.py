"""Shared bits of the benchmark scripts: argument parsing, temp homes, and the output format.

Every script prints lines a person can read and a test can check:

    figure <name>: <value> <unit>
    ratio <name>: <value>x  [target >= 0.7x: met]

and, with `--json PATH`, writes the same figures as JSON. Targets are reported, never asserted:
a script exits non-zero only when something actually broke.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.config import Settings

TOPIC = "How do heat pumps work?"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="tiny sizes (CI smoke)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    return p


def quiet_env() -> None:
    """No developer settings leak into a benchmark: offline roles, SQLite, no tracing."""
    for name in list(os.environ):
        if name.startswith(("HARNESS_", "OPENAI_")):
            del os.environ[name]
    os.environ["LANGSMITH_TRACING"] = "false"
    os.environ["LANGGRAPH_CLI_NO_ANALYTICS"] = "1"
    compile_project()


def compile_project() -> None:
    """Bytecode for the project's own modules, as Python caches it on a user's first run. Where
    the environment sets PYTHONDONTWRITEBYTECODE (this machine does) nothing is cached, and
    every measured process compiled app/ and graphs/ again: 0.2 s of each start-up here."""
    root = Path(__file__).resolve().parents[1]
    for folder in ("app", "graphs", "bench"):
        compileall.compile_dir(root / folder, quiet=1)


@contextmanager
def temp_home(prefix: str = "harness-bench-") -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def bench_settings(home: Path, **overrides: Any) -> Settings:
    return Settings(home=home, retry_initial_interval=0, **overrides)


def machine() -> dict[str, Any]:
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            mem = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "mem_gib": mem,
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p50, p95) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


class Report:
    def __init__(self, name: str, title: str, args: argparse.Namespace):
        self.name = name
        self.args = args
        self.data: dict[str, Any] = {
            "benchmark": name,
            "quick": bool(args.quick),
            "machine": machine(),
            "command": " ".join([Path(sys.executable).name, "-m", f"bench.{name}", *sys.argv[1:]]),
            "figures": {},
            "ratios": {},
        }
        print(f"== {name}: {title}" + (" (quick)" if args.quick else ""), flush=True)

    def note(self, text: str) -> None:
        print(f"   {text}", flush=True)

    def figure(self, key: str, value: float | int, unit: str = "", fmt: str = "{:,.2f}") -> None:
        self.data["figures"][key] = {"value": value, "unit": unit}
        shown = fmt.format(value) if isinstance(value, float) else f"{value:,}"
        print(f"figure {key}: {shown} {unit}".rstrip(), flush=True)

    def ratio(
        self,
        key: str,
        value: float,
        *,
        target: float | None = None,
        higher_is_better: bool = True,
        meaning: str = "",
    ) -> None:
        met = None
        suffix = ""
        if target is not None:
            met = value >= target if higher_is_better else value <= target
            op = ">=" if higher_is_better else "<="
            suffix = f"  [target {op} {target:g}x: {'met' if met else 'NOT met'}]"
        self.data["ratios"][key] = {"value": value, "target": target, "met": met}
        text = f"ratio {key}: {value:.2f}x{suffix}"
        print(text + (f"  ({meaning})" if meaning else ""), flush=True)

    def target(self, key: str, value: float, limit: float, unit: str, *, below: bool) -> None:
        """A target that is not a ratio (e.g. bytes per run below 200 KB)."""
        met = value < limit if below else value >= limit
        op = "<" if below else ">="
        self.data.setdefault("targets", {})[key] = {"value": value, "limit": limit, "met": met}
        print(f"target {key}: {value:,.0f} {unit} {op} {limit:,.0f} {unit}: "
              f"{'met' if met else 'NOT met'}", flush=True)

    def save(self) -> None:
        if self.args.json:
            Path(self.args.json).write_text(json.dumps(self.data, indent=2) + "\n")


# -- child processes, measured from outside -------------------------------------------------


class Measured:
    def __init__(self, wall: float, cpu: float, rss_mb: float, stdout: str):
        self.wall, self.cpu, self.rss_mb, self.stdout = wall, cpu, rss_mb, stdout

    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)


def measure(cmd: list[str], env: dict[str, str], extra_env: dict[str, str] | None = None,
            kill_on: Path | None = None) -> Measured:
    """One child process: wall seconds, CPU seconds and peak RSS (its own and its waited-for
    children's, e.g. the conversion pool). With kill_on, SIGKILL it once that file appears."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env={**env, **(extra_env or {})}, stdout=out, stderr=err,
                                text=True)
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG if kill_on else 0)
        if kill_on is not None:
            deadline = time.monotonic() + 300
            while not pid and not kill_on.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if not pid:
                proc.send_signal(signal.SIGKILL)
                _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0 and kill_on is None:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({proc.returncode}): {stderr[-800:]}")
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout)

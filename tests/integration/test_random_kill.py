"""Kill `harness run --yes` at random instants - not only at step boundaries - with SIGKILL or
SIGINT, then recover: every killed run is either absent (never registered) or resumable to
exactly one report, with each step applied once. SQLite and PostgreSQL, linear and fan-out,
offline and with a slow loopback model.

The loop is bounded for CI (HARNESS_KILL_LOOP_RUNS per case, default 5). For a deeper soak:
    HARNESS_KILL_LOOP_RUNS=60 .venv/bin/python -m pytest tests/integration/test_random_kill.py -s
Each case prints its figures (runs, kills, registered, recovered, finished before the kill).
"""

from __future__ import annotations

import collections
import os
import random
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.errors import NotWaiting
from app.service.runs import Harness
from tests.conftest import HARNESS_BIN, REPO, TOPIC
from tests.unit.openai_stub import good_answer, openai_stub

pytestmark = pytest.mark.integration
RUNS = int(os.environ.get("HARNESS_KILL_LOOP_RUNS", "5"))
MODEL_DELAY_S = 0.15  # the slow stub: kills land inside model calls too


def _slow_answer(body):
    time.sleep(MODEL_DELAY_S)
    return good_answer(body)


@pytest.fixture(scope="module")
def slow_model() -> Iterator[str]:
    with openai_stub() as stub:
        stub.script.extend([_slow_answer] * 10_000)
        yield stub.url


def _env(tmp: Path, backend: str, model: str, postgres: str | None, stub_url: str) -> dict:
    env = {
        "HARNESS_HOME": str(tmp / "home"),
        "HARNESS_OUTPUT_ROOT": str(tmp / "out"),
        "HARNESS_RETRY_INTERVAL": "0",
    }
    if backend == "postgres":
        env["HARNESS_DATABASE_URL"] = postgres
    if model == "stub":
        env.update(HARNESS_MODEL="stub-model", HARNESS_BASE_URL=stub_url, OPENAI_API_KEY="sk-x")
    return env


def _spawn(env: dict, mode: str, topic: str) -> tuple[subprocess.Popen, threading.Event]:
    """Start `harness run --yes`; the event is set when it prints its first trace event, i.e.
    once loading is over and the run's own work has begun."""
    proc = subprocess.Popen(
        [str(HARNESS_BIN), "run", topic, "--yes", "--mode", mode],
        cwd=REPO,
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    working = threading.Event()
    proc.last_line_at = 0.0  # type: ignore[attr-defined]

    def watch() -> None:
        for _line in proc.stdout:
            working.set()
            proc.last_line_at = time.monotonic()  # type: ignore[attr-defined]
        working.set()  # ended without output: nothing more to wait for

    threading.Thread(target=watch, daemon=True).start()
    return proc, working


def _timed_run(env: dict, mode: str) -> tuple[float, float]:
    """How long loading and the run's own work take here: the ranges kill instants come from."""
    started = time.monotonic()
    proc, working = _spawn(env, mode, TOPIC + " (calibration)")
    working.wait(timeout=300)
    loaded = time.monotonic()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=300) == 0, stderr
    return loaded - started, proc.last_line_at - loaded  # the work, without the exit


def _recover(h: Harness, run_id: str) -> str:
    """Drive a killed run to its end as a person would: resume, or approve at the gate."""
    for _ in range(8):
        run = h.get(run_id)
        if run.status == "completed":
            return run.status
        if run.status == "interrupted":
            h.resume(run_id)
        elif run.status == "waiting_approval":
            try:
                h.resume(run_id)  # a claimed decision whose caller was killed
            except NotWaiting:
                h.approve(run_id, by="recovery")
        else:
            pytest.fail(f"run {run_id} is {run.status} after a kill: {run.values.get('error')}")
    pytest.fail(f"run {run_id} did not finish after repeated recovery")


def _check_once(h: Harness, run_id: str, out: Path) -> None:
    run = h.get(run_id)
    assert run.status == "completed"
    report = run.values["report"]
    assert Path(report["path"]).read_text(encoding="utf-8") == run.values["draft"]
    events = [e["event"] for e in run.trace]
    ok = collections.Counter(e["step"] for e in run.trace if e["event"] == "tool_ok")
    workers = ok.pop("research", 0)
    assert workers == len(run.values.get("subquestions") or []), events
    assert len({s["index"] for s in run.values.get("subquestions") or []}) == workers
    assert set(ok.values()) == {1}, ok  # every other step applied exactly once
    assert events.count("report_written") + events.count("report_already_written") == 1
    assert events.count("approval_granted") == 1 and events.count("run_completed") == 1


def _before_harness_code(stderr: str) -> bool:
    """Python's own report of a Ctrl-C that came before any harness code ran: CPython's
    `Fatal Python error: init_...` while site/.pth files load, or a KeyboardInterrupt traceback
    whose frames are all the interpreter's and the console-script wrapper's, none in app/."""
    if not stderr.rstrip().endswith("KeyboardInterrupt"):
        return False
    if stderr.startswith("Fatal Python error: init_"):
        return True
    frames = re.findall(r'File "([^"]+)", line \d+', stderr)
    ours = [f for f in frames if f.startswith((str(REPO / "app"), str(REPO / "graphs")))]
    return stderr.startswith("Traceback") and bool(frames) and not ours


def _kill_loop(tmp: Path, env: dict, mode: str, case: str) -> collections.Counter:
    figures = collections.Counter()
    tag = f"[{tmp.name}]"  # this case's runs, in a database other cases may share
    startup, work = _timed_run(env, mode)
    rng = random.Random(os.environ.get("HARNESS_KILL_LOOP_SEED") or None)
    settings = Settings.from_env({**os.environ, **env})
    for i in range(RUNS):
        topic = f"{TOPIC} {tag} #{i}"
        sig = rng.choice([signal.SIGKILL, signal.SIGINT])
        proc, working = _spawn(env, mode, topic)
        if rng.random() < 0.15:  # some kills while the program loads or registers the run
            working.wait(timeout=rng.uniform(0.0, startup * 1.2))
        else:  # most at a random instant of the run's own work (or just after it)
            working.wait(timeout=300)
            time.sleep(rng.uniform(0.0, work * 1.1))  # the random instant itself, not a wait
        proc.send_signal(sig)
        stderr = proc.stderr.read()
        proc.wait(timeout=300)
        figures["runs"] += 1
        if proc.returncode == 0:
            figures["finished before the kill"] += 1
        else:
            figures["kills"] += 1
            figures[signal.Signals(sig).name] += 1
        if sig == signal.SIGINT and _before_harness_code(stderr):
            # No program can catch this (its handler is not installed yet); what matters, that
            # nothing was lost, is checked below for this run like for every other.
            figures["SIGINT before harness code"] += 1
        elif sig == signal.SIGINT:
            assert "Traceback" not in stderr, stderr
            # -2: the signal came before Python's own handler was installed (a plain kill).
            assert proc.returncode in (0, 130, -signal.SIGINT), (proc.returncode, stderr)
            if "harness resume" in stderr:
                assert len(stderr.strip().splitlines()) == 1, stderr
    with Harness.open(settings) as h:
        runs = [r for r in h.list(10_000) if tag in r.topic]
        figures["registered"] = len(runs)
        for run in runs:
            figures[f"found {run.status}"] += 1
            if run.status != "completed":
                _recover(h, run.run_id)
                figures["recovered"] += 1
            _check_once(h, run.run_id, tmp / "out")
    reports = sorted(p.name for p in (tmp / "out").iterdir())
    assert not [n for n in reports if n.startswith(".partial-")], reports
    assert len(reports) == len(runs) + 1, reports  # one per run, plus the calibration run
    print(f"\nkill loop {case}: {dict(figures)}")
    return figures


CASES = [
    ("sqlite", "linear", "offline"),
    ("sqlite", "fanout", "offline"),
    ("sqlite", "linear", "stub"),
    ("sqlite", "fanout", "stub"),
    ("postgres", "linear", "offline"),
    ("postgres", "fanout", "stub"),
]


@pytest.mark.parametrize("backend,mode,model", CASES, ids=["-".join(c) for c in CASES])
def test_random_kills_leave_every_run_absent_or_recoverable(
    backend, mode, model, tmp_path, slow_model, request
):
    postgres = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    env = _env(tmp_path, backend, model, postgres, slow_model)
    _kill_loop(tmp_path, env, mode, "-".join((backend, mode, model)))


def test_only_interrupts_before_harness_code_are_excused():
    startup = (
        "Fatal Python error: init_import_site: Failed to import the site module\n"
        "Traceback (most recent call last):\n"
        '  File "<frozen site>", line 616, in <module>\n'
        "KeyboardInterrupt\n"
    )
    wrapper = (
        "Traceback (most recent call last):\n"
        f'  File "{HARNESS_BIN}", line 3, in <module>\n'
        "    from app.cli.entry import main\n"
        "KeyboardInterrupt\n"
    )
    ours = (
        "Traceback (most recent call last):\n"
        f'  File "{REPO / "app" / "cli" / "main.py"}", line 40, in main\n'
        "KeyboardInterrupt\n"
    )
    assert _before_harness_code(startup) and _before_harness_code(wrapper)
    assert not _before_harness_code(ours)
    assert not _before_harness_code("error: database is locked\n")

"""Two processes approve the same run at the same moment: one report, one clear refusal.

The guard is the decision claim in the run registry (app/store/registry.py): inserting
(run_id, interrupt_id) succeeds for exactly one caller on SQLite and PostgreSQL alike; the loser
gets "already decided" (exit 2), and a caller that arrives while the winner is still writing
is told the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.config import Settings
from app.service.runs import Harness
from tests.conftest import REPO, TOPIC, run_cli

pytestmark = pytest.mark.integration
ROUNDS = 3


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_env(request, tmp_path) -> dict[str, str]:
    env = {"HARNESS_HOME": str(tmp_path / "home"), "HARNESS_OUTPUT_ROOT": str(tmp_path / "out")}
    if request.param == "postgres":
        env["HARNESS_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    return env


def _settings(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


def _approve_together(run_id: str, env: dict[str, str], callers: int = 2, collide: bool = False):
    go_at = time.time() + 2.0  # both processes have imported everything by then
    if collide:
        # Both callers read the waiting run, then pause just before claiming the decision, so
        # the two claims hit the database together: only the registry's guard can pick one.
        env = {**env, "HARNESS_TEST_BLOCK_IN": "claim", "HARNESS_TEST_BLOCK_SECONDS": "1.5"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.integration.workers", "cli", str(go_at),
             "approve", run_id, "--by", f"caller-{n}", "--json"],
            cwd=REPO, env={**os.environ, **env}, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for n in range(callers)
    ]
    return [_wait(p) for p in procs]


def _wait(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_two_processes_approve_the_same_run_at_once(store_env):
    reports = Path(store_env["HARNESS_OUTPUT_ROOT"])
    for round_no in range(ROUNDS):
        with Harness.open(_settings(store_env)) as h:
            run_id = h.start(f"{TOPIC} round {round_no}").run_id
        collide = round_no == 0  # later rounds: whatever interleaving the scheduler gives
        results = _approve_together(run_id, store_env, collide=collide)
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 2], results
        winner = next(out for code, out, _ in results if code == 0)
        loser = next(err for code, _, err in results if code == 2)
        assert json.loads(winner)["status"] == "completed"
        assert loser.startswith("error:") and "already" in loser, loser
        if collide:
            assert "this approval was already decided" in loser, loser
        assert "Traceback" not in loser and len(loser.strip().splitlines()) == 1
        with Harness.open(_settings(store_env)) as h:
            run = h.get(run_id)
        events = [e["event"] for e in run.trace]
        assert events.count("approval_granted") == 1
        assert events.count("report_written") == 1
        assert "report_already_written" not in events
        assert run.status == "completed"
    assert len(list(reports.glob("*.md"))) == ROUNDS  # exactly one report per run


def test_an_approval_that_arrives_while_the_winner_is_writing_is_already_decided(
    store_env, tmp_path
):
    with Harness.open(_settings(store_env)) as h:
        run_id = h.start(TOPIC).run_id
    marker, release = tmp_path / "inside.json", tmp_path / "release"
    # The winner is held inside finalize_report until both late callers have been answered.
    slow = subprocess.Popen(
        [str(Path(sys.executable).parent / "harness"), "approve", run_id, "--json"],
        cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, **store_env, "HARNESS_TEST_BLOCK_IN": "finalize_report",
             "HARNESS_TEST_BLOCK_MARKER": str(marker), "HARNESS_TEST_BLOCK_RELEASE": str(release),
             "HARNESS_TEST_BLOCK_SECONDS": "300"},
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert slow.poll() is None and time.monotonic() < deadline, slow.communicate()
            time.sleep(0.05)
        late = run_cli("approve", run_id, env=store_env)
        assert late.returncode == 2
        assert late.stderr.startswith("error:") and "already decided" in late.stderr
        rejected = run_cli("reject", run_id, "--feedback", "too late", env=store_env)
        assert rejected.returncode == 2 and "already decided" in rejected.stderr
    finally:
        release.touch()
        code, out, err = _wait(slow)
    assert code == 0, err
    assert json.loads(out)["status"] == "completed"
    with Harness.open(_settings(store_env)) as h:
        run = h.get(run_id)
    assert [e["event"] for e in run.trace].count("report_written") == 1
    assert run.values["approval"]["decision"] == "approve"
    assert len(list(Path(store_env["HARNESS_OUTPUT_ROOT"]).glob("*.md"))) == 1

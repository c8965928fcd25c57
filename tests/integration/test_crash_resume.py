"""A process killed with SIGKILL inside any step: `harness resume ID` finishes the run from the
last checkpoint, no step's side effect happens twice, and there is exactly one report file.

The test hook HARNESS_TEST_BLOCK_IN=<step>[:after] (app/nodes/guard.py, test-only) makes the process
write a marker file and sleep inside that node, which is where the test kills it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import HARNESS_BIN, REPO, TOPIC, run_cli

pytestmark = pytest.mark.integration
TOOL_STEPS = ["plan", "search", "extract_facts", "draft_report", "review", "finalize_report"]
BEFORE_GATE = ["plan", "search", "extract_facts", "draft_report", "review"]
# Blocked while the run is being decided: inside the gate with the decision in hand, inside the
# report write (before it, and after the file is on disk but before the checkpoint), in `done`.
AFTER_GATE = ["approval", "finalize_report", "finalize_report:after", "done"]


def _kill_inside(args: list[str], block: str, env: dict[str, str], tmp: Path) -> dict:
    marker = tmp / f"inside-{block.replace(':', '-')}.json"
    marker.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [str(HARNESS_BIN), *args],
        cwd=REPO,
        env={**os.environ, **env, "HARNESS_TEST_BLOCK_IN": block,
             "HARNESS_TEST_BLOCK_MARKER": str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"never reached {block}: {proc.communicate()}")
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    info = json.loads(marker.read_text())
    assert info["pid"] == proc.pid
    return info


def _show(run_id: str, env: dict[str, str]) -> dict:
    shown = run_cli("show", run_id, "--json", env=env)
    assert shown.returncode in (0, 1), shown.stderr
    return json.loads(shown.stdout)


def _check_finished_once(run: dict, reports: Path) -> None:
    assert run["status"] == "completed"
    files = sorted(p.name for p in reports.iterdir())
    assert len(files) == 1, files  # one report file, no leftovers of a partial write
    report = run["values"]["report"]
    assert Path(report["path"]).read_text(encoding="utf-8") == run["values"]["draft"]
    events = [e["event"] for e in run["values"]["trace"]]
    for step in TOOL_STEPS:
        ok = [e for e in run["values"]["trace"] if e["event"] == "tool_ok" and e["step"] == step]
        assert len(ok) == 1, (step, events)
    assert events.count("report_written") + events.count("report_already_written") == 1
    assert events.count("approval_granted") == 1
    assert events.count("run_completed") == 1
    assert "tool_error" not in events


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {"HARNESS_HOME": str(tmp_path / "home"), "HARNESS_OUTPUT_ROOT": str(tmp_path / "out")}


@pytest.mark.parametrize("step", BEFORE_GATE)
def test_killed_before_the_gate_then_resumed(step, env, tmp_path):
    info = _kill_inside(["run", TOPIC, "--no-input", "--json"], step, env, tmp_path)
    run_id = info["run_id"]
    stopped = _show(run_id, env)
    assert stopped["status"] == "interrupted" and stopped["next"] == [step]

    resumed = run_cli("resume", run_id[:8], "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "waiting_approval"
    approved = run_cli("approve", run_id, env=env)
    assert approved.returncode == 0, approved.stderr
    _check_finished_once(_show(run_id, env), tmp_path / "out")


@pytest.mark.parametrize("step", AFTER_GATE)
def test_killed_while_the_approval_is_carried_out_then_resumed(step, env, tmp_path):
    started = run_cli("run", TOPIC, "--no-input", "--json", env=env)
    run_id = json.loads(started.stdout)["run_id"]
    _kill_inside(["approve", run_id, "--by", "first-caller"], step, env, tmp_path)
    reports = tmp_path / "out"
    if step == "finalize_report:after":
        assert len(list(reports.iterdir())) == 1  # the file is written, the checkpoint is not

    # The decision is taken: a second approval is refused, `resume` carries the first one out.
    again = run_cli("approve", run_id, env=env)
    assert again.returncode == 2 and "already decided" in again.stderr, again.stderr
    resumed = run_cli("resume", run_id, "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    run = _show(run_id, env)
    _check_finished_once(run, reports)
    granted = [e for e in run["values"]["trace"] if e["event"] == "approval_granted"]
    assert granted[0]["by"] == "first-caller"
    if step == "finalize_report:after":
        assert "report_already_written" in [e["event"] for e in run["values"]["trace"]]
    finished = run_cli("resume", run_id, env=env)  # nothing left to do: a clear answer
    assert finished.returncode == 2 and "nothing to resume" in finished.stderr


@pytest.mark.postgres
@pytest.mark.parametrize("step", ["extract_facts", "finalize_report:after"])
def test_crash_resume_on_postgres(step, tmp_path, postgres_url):
    env = {"HARNESS_HOME": str(tmp_path / "home"), "HARNESS_OUTPUT_ROOT": str(tmp_path / "out"),
           "HARNESS_DATABASE_URL": postgres_url}
    if step in BEFORE_GATE:
        run_id = _kill_inside(["run", TOPIC, "--no-input"], step, env, tmp_path)["run_id"]
        assert run_cli("resume", run_id, env=env).returncode == 0
        assert run_cli("approve", run_id, env=env).returncode == 0
    else:
        run_id = json.loads(run_cli("run", TOPIC, "--no-input", "--json", env=env).stdout)["run_id"]
        _kill_inside(["approve", run_id], step, env, tmp_path)
        assert run_cli("resume", run_id, env=env).returncode == 0
    _check_finished_once(_show(run_id, env), tmp_path / "out")

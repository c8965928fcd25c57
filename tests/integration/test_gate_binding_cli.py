"""A decision is bound to the gate its person read, across separate `harness` processes: after
B's reject-with-feedback produced a redraft, A's approval of the old draft is refused as stale."""

import json

import pytest

pytestmark = pytest.mark.integration
TOPIC = "How do heat pumps work?"


def test_an_approval_of_a_draft_that_was_redrafted_meanwhile_is_refused(cli, tmp_path):
    started = cli("run", TOPIC, "--no-input", "--json")
    assert started.returncode == 0, started.stderr
    run = json.loads(started.stdout)
    seen_by_a = run["gate"]
    shown = cli("pending", run["run_id"])
    assert f"--gate {seen_by_a}" in shown.stdout  # the command people copy carries the gate

    b = cli("reject", run["run_id"], "--gate", seen_by_a, "--feedback", "Shorter.", "--json")
    assert b.returncode == 0, b.stderr
    redraft = json.loads(b.stdout)
    assert redraft["status"] == "waiting_approval" and redraft["gate"] != seen_by_a

    a = cli("approve", run["run_id"], "--gate", seen_by_a)
    assert a.returncode == 2
    assert a.stderr.startswith(f"error: run {run['run_id']}: stale answer")
    assert not (tmp_path / "home" / "reports").exists()

    bad = cli("approve", run["run_id"], "--gate", "not-a-gate")
    assert bad.returncode == 2 and "invalid gate" in bad.stderr

    ok = cli("approve", run["run_id"], "--gate", redraft["gate"], "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "completed"

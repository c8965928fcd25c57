"""Time travel: list a run's checkpoints, replay from one, fork a new run from one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from app.errors import HarnessError, InputError, NotWaiting
from app.service import timetravel
from tests.conftest import TOPIC

pytestmark = pytest.mark.integration


def _cid(rows: list[dict], next_step: str) -> str:
    return [r for r in rows if r["next"] == [next_step] and r["current"]][-1]["checkpoint_id"]


@pytest.fixture
def completed(sqlite_harness):
    run = sqlite_harness.start(TOPIC)
    return sqlite_harness.approve(run.run_id)


def test_checkpoints_list_every_step_in_order(sqlite_harness, completed):
    rows = timetravel.checkpoints(sqlite_harness, completed.run_id)
    # The API saves a run's input as intake's output: one checkpoint, then one per step.
    assert [r["after"] for r in rows] == [
        "intake", "plan", "search", "extract_facts", "draft_report",
        "review", "approval", "finalize_report", "done",
    ]
    assert [r["step"] for r in rows] == list(range(0, 9))
    assert rows[-1]["head"] and rows[-1]["next"] == [] and rows[-1]["status"] == "completed"
    assert all(r["current"] for r in rows)
    assert rows[0]["next"] == ["plan"] and rows[0]["status"] == "running"
    assert rows[5]["next"] == ["approval"] and rows[5]["status"] == "waiting_approval"


def test_replay_from_before_review_reruns_the_tail_and_needs_a_new_decision(
    sqlite_harness, completed
):
    h = sqlite_harness
    report = Path(completed.report_path)
    before = report.read_bytes()
    replayed = timetravel.replay(h, completed.run_id, _cid(
        timetravel.checkpoints(h, completed.run_id), "review"))
    assert replayed.status == "waiting_approval"  # the gate asks again on the new branch
    assert replayed.interrupt_id is not None
    done = h.approve(completed.run_id)
    assert done.status == "completed"
    assert done.values["report"]["already_written"]  # same bytes: not written twice
    assert report.read_bytes() == before
    assert len(list(report.parent.iterdir())) == 1
    rows = timetravel.checkpoints(h, completed.run_id)
    assert len([r for r in rows if not r["current"]]) >= 3  # the first branch is kept
    assert any(r["source"] == "fork" for r in rows)


def test_fork_with_feedback_redrafts_as_a_new_run_and_leaves_the_original_alone(
    sqlite_harness, completed
):
    h = sqlite_harness
    original = Path(completed.report_path)
    original_bytes, original_mtime = original.read_bytes(), original.stat().st_mtime_ns
    rows_before = timetravel.checkpoints(h, completed.run_id)
    cid = _cid(rows_before, "draft_report")

    forked = timetravel.fork(h, completed.run_id, cid, feedback="Explain defrost cycles")
    assert forked.run_id != completed.run_id
    assert forked.status == "waiting_approval"
    assert "Explain defrost cycles" in forked.pending["draft"]
    event = [e for e in forked.trace if e["event"] == "run_forked"][0]
    assert event["from_run"] == completed.run_id and event["from_checkpoint"] == cid
    done = h.approve(forked.run_id)
    assert done.status == "completed"
    assert Path(done.report_path) != original
    assert "Explain defrost cycles" in Path(done.report_path).read_text(encoding="utf-8")

    assert original.read_bytes() == original_bytes
    assert original.stat().st_mtime_ns == original_mtime
    after = h.get(completed.run_id)
    assert after.status == "completed" and after.report_path == str(original)
    assert timetravel.checkpoints(h, completed.run_id) == rows_before
    assert {r.run_id for r in h.list()} == {completed.run_id, forked.run_id}


def test_fork_from_the_gate_without_feedback_waits_for_its_own_decision(
    sqlite_harness, completed
):
    h = sqlite_harness
    cid = _cid(timetravel.checkpoints(h, completed.run_id), "approval")
    forked = timetravel.fork(h, completed.run_id, cid)
    assert forked.status == "waiting_approval"
    cancelled = h.reject(forked.run_id)
    assert cancelled.status == "cancelled"
    assert h.get(completed.run_id).status == "completed"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda h, r, rows: timetravel.replay(h, r, "no-such-checkpoint"), InputError,
         "does not exist"),
        (lambda h, r, rows: timetravel.replay(h, r, rows[-1]["checkpoint_id"]), NotWaiting,
         "nothing to replay"),
        (lambda h, r, rows: timetravel.fork(h, r, rows[-1]["checkpoint_id"]), NotWaiting,
         "nothing to fork"),
        (lambda h, r, rows: timetravel.fork(h, r, _cid(rows, "approval"), feedback="x"),
         InputError, "before draft_report"),
        (lambda h, r, rows: timetravel.fork(h, r, _cid(rows, "plan"), feedback="   "),
         InputError, "non-empty"),
        (lambda h, r, rows: timetravel.fork(h, r, ""), InputError, "give a checkpoint id"),
        (lambda h, r, rows: timetravel.checkpoints(h, "unknown-run"), HarnessError, "no run"),
    ],
)
def test_time_travel_mistakes_are_clear_and_change_nothing(
    sqlite_harness, completed, call, error, message
):
    h = sqlite_harness
    rows = timetravel.checkpoints(h, completed.run_id)
    with pytest.raises(error, match=message):
        call(h, completed.run_id, rows)
    assert timetravel.checkpoints(h, completed.run_id) == rows
    assert [r.run_id for r in h.list()] == [completed.run_id]


def test_fork_from_a_runs_first_checkpoint_runs_it_again_as_a_new_run(sqlite_harness, completed):
    h = sqlite_harness
    rows = timetravel.checkpoints(h, completed.run_id)
    forked = timetravel.fork(h, completed.run_id, rows[0]["checkpoint_id"])
    assert forked.run_id != completed.run_id and forked.status == "waiting_approval"
    assert forked.values["topic"] == completed.values["topic"]
    assert timetravel.checkpoints(h, completed.run_id) == rows  # the original is untouched
    assert h.get(completed.run_id).status == "completed"


def test_fork_a_fanout_run_with_feedback(sqlite_harness):
    h = sqlite_harness
    run = h.start(TOPIC, mode="fanout")
    rows = timetravel.checkpoints(h, run.run_id)
    assert "research" in [r["after"] for r in rows]  # the parallel workers' step is listed
    forked = timetravel.fork(h, run.run_id, _cid(rows, "draft_report"), feedback="Shorter")
    assert forked.mode == "fanout" and forked.status == "waiting_approval"
    assert "Shorter" in forked.pending["draft"]
    assert forked.values["facts"] == h.get(run.run_id).values["facts"]
    assert h.get(run.run_id).status == "waiting_approval"  # the original still waits


def test_cli_history_checkpoints_replay_and_fork(cli, tmp_path):
    made = cli("run", TOPIC, "--yes", "--json")
    run = json.loads(made.stdout)
    listed = cli("history", run["run_id"], "--checkpoints", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    text = cli("history", run["run_id"], "--checkpoints")
    for row in rows:
        assert row["checkpoint_id"] in text.stdout  # full ids, never cut to fit the terminal

    replayed = cli("replay", run["run_id"], "--checkpoint", _cid(rows, "review"), "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["status"] == "waiting_approval"

    forked = cli("fork", run["run_id"][:8], "--checkpoint", _cid(rows, "draft_report"),
                 "--feedback", "Compare running costs", "--json")
    assert forked.returncode == 0, forked.stderr
    fork = json.loads(forked.stdout)
    assert fork["run_id"] != run["run_id"] and "Compare running costs" in fork["pending"]["draft"]
    approved = cli("approve", fork["run_id"], "--json")
    assert json.loads(approved.stdout)["status"] == "completed"
    original = Path(run["report"]["path"])  # the first run's report is untouched
    assert hashlib.sha256(original.read_bytes()).hexdigest() == run["report"]["sha256"]
    assert len(list(original.parent.glob("*.md"))) == 2

    missing = cli("fork", run["run_id"])
    assert missing.returncode == 2 and missing.stderr.startswith("error: give --checkpoint")
    bad = cli("replay", run["run_id"], "--checkpoint", "nope")
    assert bad.returncode == 2 and "does not exist" in bad.stderr

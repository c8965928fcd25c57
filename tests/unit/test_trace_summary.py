"""The trace roll-up and the operational summary, on real runs of the graph."""

from __future__ import annotations

from datetime import datetime

from app.service.runs import Harness
from tests.conftest import TOPIC
from tests.helpers import FlakyFacts, roles_with


def test_counts_steps_gate_waits_and_revisions_of_a_revised_run(harness):
    run = harness.start(TOPIC)
    waiting = harness.trace_summary(run.run_id)
    assert waiting["current_step"] == "finalize_report"
    assert waiting["gate"]["decisions"] == 0 and waiting["gate"]["waiting_since"]
    harness.reject(run.run_id, feedback="More about noise, please.")
    done = harness.approve(run.run_id, by="ops")
    summary = harness.trace_summary(done.run_id)
    assert summary["status"] == "completed" and summary["current_step"] == "done"
    assert summary["counts"]["trace_events"] == len(done.trace)
    assert summary["counts"]["by_event"]["draft_reviewed"] == 2
    assert sum(summary["counts"]["by_step"].values()) == len(done.trace)
    steps = summary["steps"]
    assert steps["draft_report"]["executions"] == 2 and steps["plan"]["executions"] == 1
    assert all(s["retries"] == 0 and s["errors"] == 0 for s in steps.values())
    assert all(s["duration_ms"] >= 0 for s in steps.values())
    gate = summary["gate"]
    assert [w["decision"] for w in gate["waits"]] == ["rejected", "approved"]
    assert gate["waits"][1]["by"] == "ops" and gate["waiting_since"] is None
    for wait in gate["waits"]:
        required = datetime.fromisoformat(wait["required_at"])
        assert datetime.fromisoformat(wait["decided_at"]) >= required and wait["wait_s"] >= 0
    assert summary["revisions"] == {"requested": 1, "feedback": ["More about noise, please."]}
    assert summary["resumes"]["count"] == 2
    assert summary["timeline"]["latest_event"] == "run_completed"


def test_retries_and_errors_per_step(settings):
    h = Harness.in_memory(settings, roles=roles_with(facts=FlakyFacts(failures=2)))
    run = h.start(TOPIC)
    facts = h.trace_summary(run.run_id)["steps"]["extract_facts"]
    assert facts == {**facts, "executions": 1, "attempts": 3, "retries": 2, "errors": 2}
    failures = h.trace_summary(run.run_id)["failures"]
    assert [(f["attempt"], f["will_retry"]) for f in failures] == [(1, True), (2, True)]
    brief = h.summary(run.run_id)
    assert (brief["attempts"], brief["retries"], brief["tool_errors"]) == (7, 2, 2)
    assert brief["last_error"].startswith("TimeoutError")


def test_the_operational_summary_says_where_the_run_is_and_what_to_do(harness):
    run = harness.start(TOPIC)
    brief = harness.summary(run.run_id)
    assert brief["status"] == "waiting_approval" and brief["pending_action"] == "finalize_report"
    assert brief["next_commands"][1] == f"harness approve {run.run_id[:8]}"
    assert brief["policy"]["stored_with_run"] is True
    assert brief["cost"] == "no model calls" and brief["tokens"] == 0
    failed = harness.start("medieval troubadour poetry")
    brief = harness.summary(failed.run_id)
    assert brief["current_step"] == "failed" and brief["next_commands"] == []

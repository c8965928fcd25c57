"""`harness summary / trace-summary / policy / memory` as separate processes on the SQLite
store, including a run started under an original-format policy file and approved from a shell
that has no policy file."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TOPIC

pytestmark = pytest.mark.integration


def test_ops_commands_on_a_run_started_under_an_original_policy(cli, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({
        "version": 1,
        "default_allowed_write_roots": ["team-reports"],
        "tool_policies": {"finalize_report": {"enabled": True,
                                              "action_category": "filesystem_write"}},
    }))
    started = cli("run", TOPIC, "--no-input", "--json", env={"HARNESS_POLICY_FILE": str(policy)})
    assert started.returncode == 0, started.stderr
    run_id = json.loads(started.stdout)["run_id"]
    root = str((tmp_path / "team-reports").resolve())

    shown = cli("policy", run_id[:8])
    assert shown.returncode == 0, shown.stderr
    assert "stored with the run" in shown.stdout and root in shown.stdout
    assert "format: original" in shown.stdout
    here = json.loads(cli("policy", "--json").stdout)
    assert here["run_id"] is None and root not in here["allowed_write_roots"]

    approved = cli("approve", run_id, "--json")  # no HARNESS_POLICY_FILE in this shell
    assert approved.returncode == 0, approved.stderr
    report = json.loads(approved.stdout)["report"]["path"]
    assert report.startswith(root)

    summary = json.loads(cli("summary", "--latest", "--json").stdout)
    assert summary["status"] == "completed" and summary["current_step"] == "done"
    assert summary["resumes"] == 1 and summary["gate_decisions"] == 1
    assert summary["policy"]["allowed_write_roots"] == [root]
    human = cli("summary", run_id)
    assert "current_step: done" in human.stdout and "cost: no model calls" in human.stdout

    rollup = json.loads(cli("trace-summary", run_id, "--json").stdout)
    assert rollup["counts"]["by_event"]["run_created"] == 1
    assert rollup["counts"]["by_event"]["run_resumed"] == 1
    assert rollup["steps"]["finalize_report"]["executions"] == 1
    human = cli("trace-summary", run_id)
    assert human.returncode == 0 and "finalize_report" in human.stdout
    assert "Gate: 1 decision(s): approved after" in human.stdout
    assert "Resumes: 1 (decision at approval)" in human.stdout

    memory = json.loads(
        cli("memory", run_id, "--query", "defrost", "--top-k", "2", "--json").stdout
    )
    assert memory["retrieval"]["top_k"] == 2 and len(memory["retrieval"]["results"]) <= 2
    human = cli("memory", "--latest", "--query", "cold climate")
    assert "Working context" in human.stdout and "Retrieval" in human.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("memory", "--latest", "--top-k", "0"), "--top-k must be between 1 and 50"),
        (("memory", "--latest", "--query", " "), "--query must be a non-empty text"),
        (("policy", "abc123", "--latest"), "not both"),
        (("trace-summary", "nosuchrun"), "no run with id"),
        (("summary",), "give a run id"),
    ],
)
def test_mistakes_are_one_error_line(cli, args, message):
    assert cli("run", TOPIC, "--no-input").returncode == 0
    result = cli(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_policy_that_cannot_be_honoured_stops_the_run_before_it_starts(cli, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"tool_policies": {"finalize_report": {"risky": False}}}))
    result = cli("run", TOPIC, "--no-input", env={"HARNESS_POLICY_FILE": str(policy)})
    assert result.returncode == 2 and "cannot be honoured" in result.stderr
    assert "No runs yet" in cli("list").stdout

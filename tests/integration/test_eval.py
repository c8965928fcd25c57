"""`harness eval`: the shipped fixtures pass in both modes, a broken expectation fails the
command, a malformed fixture file is a user mistake, and faults go through the real retries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.errors import InputError
from app.research.sources import open_sources
from app.service.eval import load_fixtures, report_problems, run_eval
from tests.conftest import REPO

pytestmark = pytest.mark.integration
FIXTURES = REPO / "app" / "data" / "eval_fixtures.json"
SAMPLE = REPO / "app" / "data" / "sample_corpus"


def write(tmp_path: Path, cases) -> Path:
    path = tmp_path / "fixtures.json"
    path.write_text(json.dumps({"cases": cases}))
    return path


def test_shipped_fixtures_pass_in_both_modes_and_cover_the_required_cases(cli):
    result = cli("eval", str(FIXTURES), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["passed"] is True
    assert set(summary["modes"]) == {"linear", "fanout"}
    for mode, data in summary["modes"].items():
        assert data["runs"] == data["passed"] == 9 and data["failed"] == 0, mode
        assert data["mean_steps"] > 0 and data["wall_s"] > 0
        statuses = {c["case"]: c["status"] for c in data["cases"]}
        assert statuses["pass-sample-corpus"] == "completed"
        assert statuses["thin-corpus-reaches-the-gate-marked-thin"] == "completed"
        assert statuses["review-failure-nothing-relevant"] == "failed"
        assert statuses["tool-error-facts-model-down"] == "failed"
        assert statuses["rejection-cancels"] == "cancelled"
    # The modes differ where they should: one failing sub-question sinks only the linear run.
    partial = {m: next(c for c in d["cases"] if c["case"] == "one-sub-question-fails")
               for m, d in summary["modes"].items()}
    assert partial["linear"]["status"] == "failed"
    assert partial["fanout"]["status"] == "completed"


def test_human_output_is_a_table_per_mode(cli):
    result = cli("eval", str(FIXTURES), "--mode", "fanout")
    assert result.returncode == 0, result.stderr
    assert "mode: fanout" in result.stdout and "mode: linear" not in result.stdout
    for column in ("passed", "failed", "runs", "mean steps", "wall time"):
        assert column in result.stdout
    assert "all cases passed" in result.stdout


def test_a_failed_expectation_fails_the_command_and_says_which_check(cli, tmp_path):
    path = write(tmp_path, [{
        "name": "wrong-status",
        "topic": "How do heat pumps work?",
        "corpus": str(SAMPLE),
        "auto_approve": True,
        "modes": ["linear"],
        "expect": {"status": "cancelled", "min_facts": 50, "events": ["no_such_event"]},
    }])
    result = cli("eval", str(path))
    assert result.returncode == 1
    assert "some cases failed" in result.stdout
    assert "wrong-status" in result.stdout
    for check in ("status: completed (want cancelled)", "min_facts", "event no_such_event"):
        assert check in result.stdout
    data = json.loads(cli("eval", str(path), "--json").stdout)
    assert data["passed"] is False and data["modes"]["linear"]["failed"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"cases": []}', "at least one case"),
        ('{"cases": [{"name": "x"}]}', "needs a non-empty 'topic'"),
        ('{"cases": [{"name": "x", "topic": "t", "corpus": "missing"}]}',
         "corpus folder not found"),
        ('{"cases": [{"name": "x", "topic": "t", "expect": {"status": "done"}}]}',
         "expect.status must be one of"),
        ('{"cases": [{"name": "x", "topic": "t", "fault": {"role": "writer"}}]}',
         "fault.role must be one of"),
        ('{"cases": [{"name": "x", "topic": "t", "decisions": [{"decision": "maybe"}]}]}',
         "decision 1 is invalid"),
        ('{"cases": [{"name": "x", "topic": "t", "auto_approve": true, '
         '"decisions": [{"decision": "approve"}]}]}', "not both"),
    ],
)
def test_a_malformed_fixture_file_is_refused_before_any_run(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_fixtures(path)


def test_the_cli_reports_a_malformed_fixture_as_one_error_line(cli, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"cases": [{"name": "x", "topic": "t", "corpus": "missing"}]}')
    result = cli("eval", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and "corpus folder not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_mode_and_missing_file_exit_2(cli, tmp_path):
    assert cli("eval", str(FIXTURES), "--mode", "parallel").returncode == 2
    missing = cli("eval", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "fixture file not found" in missing.stderr


def test_a_fault_runs_the_real_retry_policy_in_both_modes(settings, tmp_path):
    path = write(tmp_path, [{
        "name": "facts-down",
        "topic": "How do heat pumps work?",
        "auto_approve": True,
        "fault": {"role": "facts", "message": "endpoint down"},
        "expect": {"status": "failed", "report": False},
    }])
    settings = settings.model_copy(update={"retry_attempts": 2})
    summary = run_eval(load_fixtures(path), ("linear", "fanout"), settings)
    assert summary["passed"] is True
    # Each attempt is a real call through RetryPolicy: 2 attempts for extract_facts, 2 for
    # the one worker (the topic is one question).
    linear, fanout = (summary["modes"][m]["cases"][0] for m in ("linear", "fanout"))
    assert linear["status"] == fanout["status"] == "failed"
    assert (linear["tool_errors"], fanout["tool_errors"]) == (2, 2)


def test_report_check_catches_uncited_claims_and_sources_outside_the_corpus(tmp_path):
    report = (
        "# T\n\nAn answer [1].\n\n## Q\n\n- cited claim [1]\n- uncited claim\n- ghost [2]\n\n"
        "## Sources\n\n- [1] Real (`real#real`)\n- [2] Ghost (`not-in-corpus#x`)\n"
    )
    real = tmp_path / "c"
    real.mkdir()
    (real / "real.md").write_text("# Real\n\nA cited claim that is real.\n")
    index = open_sources({"kind": "corpus", "path": str(real)}, real, tmp_path / "home")
    problems = report_problems(report, index)
    assert "claim without a citation: uncited claim" in problems
    assert "source [2] 'not-in-corpus#x' is not in the corpus" in problems
    assert not any("[1]" in p for p in problems)


def test_fixture_paths_are_relative_to_the_fixture_file(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.md").write_text("# A\n\nHeat pumps move heat from outside air into a home.\n")
    path = write(tmp_path, [{"name": "rel", "topic": "heat pumps", "corpus": "c"}])
    assert load_fixtures(path)[0].corpus == corpus.resolve()
    with pytest.raises(InputError, match="used twice"):
        load_fixtures(write(tmp_path, [{"name": "a", "topic": "t"}, {"name": "a", "topic": "t"}]))


def test_the_fanout_mode_runs_and_draws_from_the_cli(cli):
    """The second mode the eval compares is a first-class CLI mode, stored like any run."""
    topic = "How do heat pumps work and what do they cost?"  # two sub-questions, two workers
    run = cli("run", topic, "--mode", "fanout", "--no-input", "--json")
    assert run.returncode == 0, run.stderr
    started = json.loads(run.stdout)
    assert started["mode"] == "fanout" and started["status"] == "waiting_approval"
    assert [s["status"] for s in started["pending"]["subquestions"]] == ["answered"] * 2
    done = cli("approve", started["run_id"][:8], "--json")  # another process, same store
    assert done.returncode == 0, done.stderr
    assert Path(json.loads(done.stdout)["report"]["path"]).is_file()
    workflow = json.loads(cli("workflow", "--mode", "fanout", "--format", "json").stdout)
    assert {"from": "plan", "to": "research", "label": "fan_out", "conditional": True} in (
        workflow["transitions"]
    )

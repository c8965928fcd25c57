"""`harness eval` reads the original harness's fixture format: its two cases,
`approval-pause-baseline` and `end-to-end-complete`, re-created over sources we wrote
(app/data/eval/original_format/), pass in both modes; its checks fail when they should."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.errors import InputError
from app.service.eval import load_fixtures, run_eval
from tests.conftest import REPO

pytestmark = pytest.mark.integration
ORIGINAL = REPO / "app" / "data" / "eval" / "original_format"


def test_the_originals_two_cases_pass_in_both_modes(cli):
    result = cli("eval", str(ORIGINAL / "basic.json"), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    for mode, data in summary["modes"].items():
        cases = {c["case"]: c for c in data["cases"]}
        assert set(cases) == {"approval-pause-baseline", "end-to-end-complete"}, mode
        assert cases["approval-pause-baseline"]["status"] == "waiting_approval"
        assert cases["end-to-end-complete"]["status"] == "completed"
        checks = {c["check"] for c in cases["end-to-end-complete"]["checks"]}
        assert {"status", "current_step", "min_trace_events", "event run_resumed",
                "event run_completed", "report"} <= checks


def _write(tmp_path: Path, cases: list) -> Path:
    (tmp_path / "sources.json").write_text((ORIGINAL / "sources.json").read_text())
    path = tmp_path / "basic.json"
    path.write_text(json.dumps(cases))
    return path


def test_its_checks_fail_when_the_run_does_not_match(tmp_path, settings):
    path = _write(tmp_path, [{
        "name": "wrong-expectations",
        "topic": "approval gated harness",
        "source_file": "sources.json",
        "expected_status": "completed",
        "expected_current_step": "done",
        "required_events": ["run_created", "policy_denied"],
        "min_trace_events": 500,
        "expect_final_report": True,
    }])
    summary = run_eval(load_fixtures(path), ("linear",), settings)
    [case] = summary["modes"]["linear"]["cases"]
    failed = {c["check"] for c in case["checks"] if not c["ok"]}
    assert failed == {"status", "current_step", "event policy_denied", "min_trace_events",
                      "report"}
    assert summary["passed"] is False


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ({"name": "x", "topic": "t", "expected_status": "completed"}, "needs 'source_file'"),
        ({"name": "x", "topic": "t", "source_file": "sources.json", "expect": {}},
         "not part of the original fixture format"),
        ({"name": "x", "topic": "t", "source_file": "sources.json", "min_trace_events": "8"},
         "min_trace_events must be a non-negative integer"),
        ({"name": "x", "topic": "t", "source_file": "missing.json"}, "missing.json: not found"),
        ({"name": "x", "topic": "t", "source_file": "sources.json", "expected_status": "done"},
         "expect.status must be one of"),
    ],
)
def test_a_malformed_original_case_is_one_clear_error(tmp_path, case, message):
    with pytest.raises(InputError) as caught:
        load_fixtures(_write(tmp_path, [case]))
    assert message in str(caught.value)

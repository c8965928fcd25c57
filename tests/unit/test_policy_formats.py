"""Policy files in the original harness's format, the policy stored with each run, and what
`Harness.policy_info` says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.config import Settings
from app.errors import InputError
from app.nodes.workflow import export_workflow
from app.safety.policy import Policy
from app.safety.policy_formats import STEP_CATEGORIES
from app.service.runs import Harness
from tests.conftest import TOPIC

# The original repository's own policy/default.json, as it ships.
ORIGINAL_DEFAULT = {
    "version": 1,
    "default_allowed_write_roots": [".runs"],
    "tool_policies": {
        "search_mock": {"enabled": True, "action_category": "read_only"},
        "extract_facts": {"enabled": True, "action_category": "transform"},
        "draft_report": {"enabled": True, "action_category": "model_generation"},
        "finalize_report": {
            "enabled": True,
            "action_category": "filesystem_write",
            "allowed_output_roots": [".runs"],
        },
        "flaky_echo": {"enabled": True, "action_category": "utility"},
    },
}


def _file(tmp_path: Path, data: dict, name: str = "policy.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_the_originals_default_policy_is_translated(tmp_path):
    policy = Policy.from_file(_file(tmp_path, ORIGINAL_DEFAULT))
    assert policy.allowed_write_roots == ((tmp_path / ".runs").resolve(),)
    assert policy.disabled_tools == frozenset()
    assert policy.file_format == "original"
    assert any("flaky_echo" in note for note in policy.notes)


def test_disabled_tools_and_the_write_steps_own_roots_win(tmp_path):
    data = {
        "version": 1,
        "default_allowed_write_roots": ["default-root"],
        "tool_policies": {
            "search_mock": {"enabled": False},
            "finalize_report": {"allowed_output_roots": ["/srv/reports"]},
        },
    }
    policy = Policy.from_file(_file(tmp_path, data))
    assert policy.disabled_tools == {"search"}
    assert policy.allowed_write_roots == (Path("/srv/reports"),)


def test_without_roots_the_default_root_is_used(tmp_path):
    data = {"tool_policies": {"draft_report": {"enabled": True}}}
    policy = Policy.from_file(_file(tmp_path, data), default_root=tmp_path / "reports")
    assert policy.allowed_write_roots == ((tmp_path / "reports").resolve(),)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tool_policies": {"finalize_report": {"action_category": "read_only"}}},
         "tool_policies.finalize_report.action_category 'read_only' cannot be honoured"),
        ({"tool_policies": {"finalize_report": {"requires_approval": False}}},
         "requires_approval=false cannot be honoured"),
        ({"tool_policies": {"search_mock": {"allowed_output_roots": ["x"]}}},
         "only finalize_report writes files"),
        ({"tool_policies": {"finalise_report": {"enabled": False}}}, "no such tool"),
        ({"tool_policies": {"search_mock": {"enabled": "no"}}}, "enabled must be true or false"),
        ({"tool_policies": {"search_mock": {"timeout": 3}}}, "unknown keys ['timeout']"),
        ({"default_allowed_write_roots": []}, "could never be written"),
        ({"version": 2}, "only version 1"),
        ({"version": 1, "allowed_write_roots": ["x"]}, "mixes the original format"),
        ({"allowed_write_roots": ["x"], "tools": []}, "unknown keys ['tools']"),
    ],
)
def test_what_cannot_be_honoured_is_one_clear_error(tmp_path, data, message):
    with pytest.raises(InputError) as caught:
        Policy.from_file(_file(tmp_path, data))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_translation_knows_the_graphs_own_categories(settings):
    graph = Harness.in_memory(settings).graph()
    categories = {
        n["id"]: n["action_category"]
        for n in export_workflow(graph)["nodes"]
        if n["retry_max_attempts"] is not None
    }
    assert categories == STEP_CATEGORIES


def test_a_record_round_trips(tmp_path):
    policy = Policy.from_file(_file(tmp_path, ORIGINAL_DEFAULT))
    again = Policy.from_record(json.loads(json.dumps(policy.to_record())))
    assert again == policy and again.source == policy.source and again.notes == policy.notes


def test_the_stored_policy_is_what_a_later_process_enforces(tmp_path):
    """Started under a policy file, approved by a process without it: the report is written
    under the run's root, not refused by the new process's default."""
    home, team = tmp_path / "home", tmp_path / "team"
    policy_file = _file(tmp_path, {"allowed_write_roots": [str(team)]})
    with Harness.open(Settings.from_env(home=home, policy_file=policy_file)) as h:
        run = h.start(TOPIC)
        assert run.pending["output_path"].startswith(str(team.resolve()))
    with Harness.open(Settings.from_env(home=home)) as later:
        info = later.policy_info(run.run_id)
        assert info["stored_with_run"] and info["allowed_write_roots"] == [str(team.resolve())]
        assert later.policy_info()["allowed_write_roots"] == [str((home / "reports").resolve())]
        done = later.approve(run.run_id)
    assert done.status == "completed", done.values.get("error")
    assert Path(done.report_path).parent == team.resolve()
    created = next(e for e in done.trace if e["event"] == "run_created")
    assert created["policy"]["allowed_write_roots"] == [str(team.resolve())]


def test_a_later_process_reports_the_runs_stored_disabled_tools(tmp_path):
    home = tmp_path / "home"
    policy_file = _file(tmp_path, {"allowed_write_roots": ["r"], "disabled_tools": ["review"]})
    with Harness.open(Settings.from_env(home=home, policy_file=policy_file)) as h:
        run = h.start(TOPIC)
    assert run.status == "failed" and run.values["error"]["step"] == "review"
    with Harness.open(Settings.from_env(home=home)) as later:
        assert later.policy_info(run.run_id)["tools"]["review"]["enabled"] is False
        assert later.summary(run.run_id)["policy"]["disabled_tools"] == ["review"]


def test_policy_info_lists_each_tool_step(settings):
    info = Harness.in_memory(settings).policy_info()
    assert info["run_id"] is None and info["stored_with_run"] is False
    assert info["tools"]["finalize_report"] == {
        "enabled": True,
        "action_category": "filesystem_write",
        "risky": True,
        "requires_approval": True,
        "allowed_output_roots": [str(settings.reports_root)],
    }
    assert "approval" not in info["tools"] and "done" not in info["tools"]

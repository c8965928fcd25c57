"""The write policy: allowed roots, disabled tools, JSON/TOML policy files, refusals in traces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.config import Settings
from app.errors import InputError, PolicyViolation
from app.safety.policy import Policy
from app.service.runs import Harness
from tests.conftest import TOPIC


@pytest.fixture
def root(tmp_path) -> Path:
    path = tmp_path / "reports"
    path.mkdir()
    return path


def test_policy_files_in_json_and_toml_with_roots_relative_to_the_file(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps(
        {"allowed_write_roots": ["out", "/srv/shared"], "disabled_tools": ["search"]}))
    (tmp_path / "p.toml").write_text(
        'allowed_write_roots = ["out", "/srv/shared"]\ndisabled_tools = ["search"]\n')
    for name in ("p.json", "p.toml"):
        policy = Policy.from_file(tmp_path / name)
        assert policy.allowed_write_roots == ((tmp_path / "out").resolve(), Path("/srv/shared"))
        assert policy.disabled_tools == {"search"}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("p.json", "{not json", "not valid"),
        ("p.toml", "allowed_write_roots = [", "not valid"),
        ("p.json", "{}", "allowed_write_roots"),
        ("p.json", '{"allowed_write_roots": []}', "allowed_write_roots"),
        ("p.json", '{"allowed_write_roots": "out"}', "allowed_write_roots"),
        ("p.json", '{"allowed_write_roots": [1]}', "allowed_write_roots"),
        ("p.json", '{"allowed_write_roots": ["out"], "disabled_tools": ["rm_rf"]}',
         "disabled_tools"),
        ("p.json", '{"allowed_write_roots": ["out"], "disabled_tools": "search"}',
         "disabled_tools"),
        ("p.json", "[1, 2]", "must hold an object"),
        ("p.json", '{"allowed_write_roots": ["out"], "disabled_tools": [["search"]]}',
         "disabled_tools"),
        ("p.json", b"\xff\xfe\x00binary", "not UTF-8"),
    ],
)
def test_bad_policy_files_are_clear_errors(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
    with pytest.raises(InputError, match=message):
        Policy.from_file(tmp_path / name)


def test_missing_policy_file(tmp_path):
    with pytest.raises(InputError, match="cannot read policy file"):
        Policy.from_file(tmp_path / "absent.json")


def test_writes_inside_the_root_are_allowed(root):
    policy = Policy((root,))
    assert policy.check_write(root / "a.md") == (root / "a.md").resolve()
    assert policy.check_write(root / "sub" / ".." / "b.md") == (root / "b.md").resolve()


@pytest.mark.parametrize(
    "target",
    [
        "../outside.md",
        "sub/../../outside.md",
        "../reports-evil/x.md",  # a sibling whose name starts like the root
        "/etc/harness.md",
        "/tmp/../etc/x.md",
    ],
)
def test_paths_that_leave_the_root_are_refused(root, target):
    path = root / target if not target.startswith("/") else Path(target)
    with pytest.raises(PolicyViolation, match="outside the allowed roots"):
        Policy((root,)).check_write(path)


def test_symlink_tricks_are_refused(root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link-dir").symlink_to(outside, target_is_directory=True)
    (root / "link-file.md").symlink_to(outside / "victim.md")
    policy = Policy((root,))
    for target in (root / "link-dir" / "r.md", root / "link-file.md"):
        with pytest.raises(PolicyViolation, match="outside the allowed roots"):
            policy.check_write(target)


def test_only_markdown_reports(root):
    with pytest.raises(PolicyViolation, match=r"must end in \.md"):
        Policy((root,)).check_write(root / "report.sh")


def test_disabled_tools(root):
    policy = Policy((root,), frozenset({"search"}))
    policy.check_tool("plan")
    with pytest.raises(PolicyViolation, match="disabled by policy"):
        policy.check_tool("search")


def _files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


@pytest.mark.parametrize("target", ["../escape.md", "link/escape.md"])
def test_a_run_with_a_path_outside_the_roots_fails_before_any_write(tmp_path, target):
    root = tmp_path / "home" / "reports"
    root.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    h = Harness.in_memory(Settings.from_env(home=tmp_path / "home", retry_initial_interval=0))
    with pytest.raises(PolicyViolation, match="outside the allowed roots"):
        h.start(TOPIC, output_path=root / target)
    assert h.list() == []  # refused before a run is stored
    assert _files_under(outside) == [] and _files_under(root) == []
    assert not (tmp_path / "home" / "escape.md").exists()


def test_a_symlink_planted_after_planning_is_caught_at_the_write(tmp_path):
    settings = Settings.from_env(home=tmp_path / "home", retry_initial_interval=0)
    root = settings.reports_root
    outside = tmp_path / "outside"
    outside.mkdir()
    h = Harness.in_memory(settings)
    run = h.start(TOPIC, output_path=root / "team" / "r.md")  # "team" does not exist yet
    assert run.status == "waiting_approval"
    root.mkdir(parents=True, exist_ok=True)
    (root / "team").symlink_to(outside, target_is_directory=True)
    done = h.approve(run.run_id)
    assert done.status == "failed" and done.values["error"]["step"] == "finalize_report"
    assert any(e["event"] == "policy_refused" for e in done.trace)
    assert _files_under(outside) == []


def test_policy_file_from_the_environment_narrows_roots_and_disables_tools(tmp_path, monkeypatch):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('allowed_write_roots = ["approved"]\ndisabled_tools = ["search"]\n')
    monkeypatch.setenv("HARNESS_POLICY_FILE", str(policy_file))
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path / "home"))
    h = Harness.in_memory(Settings.from_env(retry_initial_interval=0))
    run = h.start(TOPIC)
    assert run.status == "failed" and run.values["error"]["step"] == "search"
    assert any(e["event"] == "policy_refused" and e["step"] == "search" for e in run.trace)
    assert "disabled by policy" in run.values["error"]["message"]
    # The default report path is inside the policy's first root, not HARNESS_HOME/reports.
    assert Path(run.values["output_path"]).parent == (tmp_path / "approved").resolve()
    assert not (tmp_path / "approved").exists()  # nothing was written anywhere
    # Only the corpus's search index (a cache of the sources, built when the run starts).
    written = _files_under(tmp_path / "home")
    assert all(p.is_relative_to(tmp_path / "home" / "index") for p in written)

"""The real `harness` console script, one process per command, sharing the SQLite file."""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
TOPIC = "How do heat pumps work?"


def start(cli, *extra) -> dict:
    result = cli("run", TOPIC, "--no-input", "--json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_run_yes_writes_the_report_and_says_where(cli, tmp_path):
    result = cli("run", TOPIC, "--yes")
    assert result.returncode == 0, result.stderr
    assert "approval_required" in result.stdout  # live trace lines
    for shown in ("## Sources", "Review: passed", "Proposed output:", "Approving (--yes)."):
        assert shown in result.stdout  # the gate is shown before --yes approves it
    line = next(x for x in result.stdout.splitlines() if x.startswith("Report written to"))
    path = Path(line.split("Report written to ")[1].split(" (")[0])
    assert path.is_file() and path.is_relative_to(tmp_path / "home" / "reports")
    assert path.read_text().startswith("# How do heat pumps work?")


def test_gate_shows_draft_review_and_path_then_another_process_approves(cli, tmp_path):
    shown = cli("run", TOPIC, "--no-input")
    assert shown.returncode == 0
    for text in ("Draft", "## Sources", "Review: passed", "Proposed output:", "harness approve"):
        assert text in shown.stdout
    assert not (tmp_path / "home" / "reports").exists()

    run = json.loads(cli("show", "--latest", "--json").stdout)
    assert run["status"] == "waiting_approval"
    pending = json.loads(cli("pending", run["run_id"][:8], "--json").stdout)
    assert pending["allowed_decisions"] == ["approve", "edit", "reject"]

    approved = cli("approve", run["run_id"], "--json")
    assert approved.returncode == 0, approved.stderr
    final = json.loads(approved.stdout)
    assert final["status"] == "completed"
    assert Path(final["report"]["path"]).is_file()

    again = cli("approve", run["run_id"])
    assert again.returncode == 2
    assert (
        again.stderr.strip()
        == f"error: run {run['run_id']} is already completed; nothing to decide"
    )


def test_edit_from_a_file_and_reject_with_feedback(cli, tmp_path):
    first = start(cli)
    edited = tmp_path / "edited.md"
    edited.write_text("# Edited by hand\n\nShort and sweet.\n")
    done = json.loads(cli("edit", first["run_id"], "--file", str(edited), "--json").stdout)
    assert Path(done["report"]["path"]).read_text() == edited.read_text()

    second = start(cli)
    redrafted = json.loads(
        cli("reject", second["run_id"], "--feedback", "cover costs", "--json").stdout
    )
    assert redrafted["status"] == "waiting_approval" and redrafted["revisions"] == 1
    assert "cover costs" in redrafted["pending"]["draft"]
    cancelled = json.loads(cli("reject", "--latest", "--json").stdout)
    assert cancelled["status"] == "cancelled"


def test_list_history_summary_and_workflow(cli):
    run = start(cli)
    listed = json.loads(cli("list", "--json").stdout)
    assert [r["run_id"] for r in listed] == [run["run_id"]]
    tail = json.loads(cli("history", run["run_id"], "--tail", "2", "--json").stdout)
    assert [e["event"] for e in tail] == ["approval_required", "tool_ok"]
    only = json.loads(cli("history", "--latest", "--event", "tool_start", "--json").stdout)
    assert {e["step"] for e in only} == {
        "plan",
        "search",
        "extract_facts",
        "draft_report",
        "review",
    }
    summary = json.loads(cli("summary", "--latest", "--json").stdout)
    assert summary["facts"] >= 2 and summary["status"] == "waiting_approval"
    assert "waiting_approval" in cli("summary", "--latest").stdout

    workflow = json.loads(cli("workflow", "--format", "json").stdout)
    assert workflow["approval_gates"] == ["approval"]
    assert "&nbsp;review_passed&nbsp;" in cli("workflow", "--format", "mermaid").stdout


def test_sources_file_input(cli, tmp_path):
    from app.config import SAMPLE_CORPUS

    result = cli(
        "run",
        "heat pump water heaters",
        "--sources",
        str(SAMPLE_CORPUS.parent / "sample_sources.json"),
        "--yes",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "completed"


def test_a_failed_run_exits_1_with_the_reason(cli):
    result = cli("run", "medieval troubadour poetry", "--no-input")
    assert result.returncode == 1
    assert "Failed at review" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "   "], "error: topic must be a non-empty string"),
        (
            ["run", TOPIC, "--corpus", "/no/such/dir"],
            "error: corpus folder not found: /no/such/dir",
        ),
        (["show", "nope"], "error: no run with id 'nope' (see `harness list`)"),
        (["approve"], "error: give a run id, or --latest for the most recent run"),
        (["approve", "--latest"], "error: there are no runs yet"),
        (["workflow", "--format", "png"], "error: --format must be json or mermaid"),
        (["edit", "--latest"], "error: edit needs --file with the edited Markdown"),
        (
            ["run", TOPIC, "--mode", "sideways"],
            "error: unknown mode 'sideways': choose one of linear, fanout",
        ),
    ],
)
def test_user_mistakes_get_one_line_and_exit_2(cli, args, message):
    result = cli(*args)
    assert result.returncode == 2
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stdout + result.stderr


def test_malformed_sources_and_empty_corpus(cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    result = cli("run", TOPIC, "--sources", str(bad))
    assert result.returncode == 2 and "is not valid JSON" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("run", TOPIC, "--corpus", str(empty))
    assert result.returncode == 2 and "no .md, .txt, .html, .pdf or .docx files" in result.stderr
    assert "the folder is empty" in result.stderr
    assert json.loads(cli("list", "--json").stdout) == []  # nothing half-created


def test_approving_a_run_that_is_not_waiting(cli):
    failed = cli("run", "medieval troubadour poetry", "--no-input", "--json")
    run_id = json.loads(failed.stdout)["run_id"]
    result = cli("approve", run_id)
    assert result.returncode == 2
    assert "is already failed" in result.stderr


def test_interactive_approval_on_a_terminal(tmp_path):
    """On a TTY, `run` asks for the decision (driven here through a pseudo-terminal)."""
    import os
    import pty
    import subprocess
    import sys
    import time

    main, replica = pty.openpty()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "harness"), "run", TOPIC],
        stdin=replica,
        stdout=replica,
        stderr=replica,
        env=os.environ.copy(),
    )
    os.close(replica)
    output = b""
    deadline = time.time() + 60
    while b"Decision" not in output and time.time() < deadline:
        output += os.read(main, 65536)
    os.write(main, b"a\n")
    while proc.poll() is None and time.time() < deadline:
        try:
            output += os.read(main, 65536)
        except OSError:
            break
    proc.wait(timeout=30)
    assert proc.returncode == 0
    assert b"Report written to" in output

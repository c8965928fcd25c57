"""What a hostile day brings besides kills: text that attacks the terminal, paths that look
like markup or are not UTF-8, damaged or read-only stores, many runs, and a folder swapped
for a symlink while a report is written."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from app.config import Settings
from app.errors import PolicyViolation
from app.safety.policy import Policy
from app.safety.report_writer import write_report_once
from app.service.runs import Harness
from tests.conftest import TOPIC, run_cli

pytestmark = pytest.mark.integration

HIDDEN = "\x1b[8m"  # "conceal": the approver would not see what follows
CLIPBOARD = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # OSC 52: writes the terminal's clipboard
RTL = "\u202e"  # right-to-left override: reorders what is shown
HOSTILE = f"Heat pumps move heat {HIDDEN}secretly{CLIPBOARD} and {RTL}reversed text."


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text(
        f"# Heat pumps\n{HOSTILE} Heat pumps move heat from cold air to warm rooms.\n"
    )
    (corpus / "b.md").write_text(
        "# Costs\nA heat pump costs more to install. Heat pumps save energy over years.\n"
    )
    return corpus


def _terminal_safe(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and RTL not in text, repr(text[:500])


def test_terminal_output_is_inert_while_the_report_keeps_the_approved_text(tmp_path):
    env = {"HARNESS_HOME": str(tmp_path / "home"), "HARNESS_OUTPUT_ROOT": str(tmp_path / "out")}
    topic = f"Heat pumps {RTL}evil{HIDDEN}"
    output = tmp_path / "out" / "[bold]report[/bold].md"
    started = run_cli(
        "run", topic, "--corpus", str(_corpus(tmp_path)), "--output", str(output), "--no-input",
        env=env,
    )
    assert started.returncode == 0, started.stderr
    _terminal_safe(started.stdout + started.stderr)
    assert "\\x1b[8m" in started.stdout  # shown visibly escaped, not hidden
    assert "[bold]report[/bold].md" in started.stdout  # a path with brackets, literally
    for command in (["pending", "--latest"], ["list"], ["summary", "--latest"],
                    ["history", "--latest"], ["show", "--latest"]):
        shown = run_cli(*command, env=env)
        assert shown.returncode == 0, (command, shown.stderr)
        _terminal_safe(shown.stdout + shown.stderr)
    done = run_cli("approve", "--latest", env=env)
    assert done.returncode == 0, done.stderr
    _terminal_safe(done.stdout)
    assert "[bold]report[/bold].md" in done.stdout
    run = json.loads(run_cli("show", "--latest", "--json", env=env).stdout)
    written = Path(run["values"]["report"]["path"]).read_text(encoding="utf-8")
    assert written == run["values"]["draft"]  # the file holds the approved text, unchanged
    assert HIDDEN in written or CLIPBOARD in written or RTL in written


def test_a_non_utf8_corpus_and_output_path_survive_a_resume_in_another_process(tmp_path):
    env = {"HARNESS_HOME": str(tmp_path / "home"), "HARNESS_OUTPUT_ROOT": str(tmp_path / "out")}
    corpus = os.fsdecode(os.fsencode(str(_corpus(tmp_path))) + b"-\xff")
    os.rename(tmp_path / "corpus", corpus)
    output = os.fsdecode(os.fsencode(str(tmp_path / "out")) + b"/r\xffport.md")
    started = run_cli("run", TOPIC, "--corpus", corpus, "--output", output, "--no-input", env=env)
    assert started.returncode == 0, started.stderr
    done = run_cli("approve", "--latest", env=env)  # a new process reads the checkpoint
    assert done.returncode == 0, done.stderr + done.stdout
    assert os.path.isfile(output)  # the very bytes of the name, not a '?' look-alike
    assert os.listdir(os.fsencode(str(tmp_path / "out"))) == [os.fsencode(output).split(b"/")[-1]]


def test_one_damaged_run_does_not_hide_the_others(tmp_path):
    settings = Settings.from_env({}, home=tmp_path / "home", retry_initial_interval=0)
    with Harness.open(settings) as h:
        good, bad = h.start(TOPIC).run_id, h.start("Heat pump noise").run_id
    with sqlite3.connect(settings.sqlite_path) as conn:
        conn.execute("UPDATE checkpoints SET checkpoint = x'c1c1c1' WHERE thread_id = ?", (bad,))
    listed = run_cli("list", env={"HARNESS_HOME": str(settings.home)})
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert "damaged" in lines[bad] and "waiting_approval" in lines[good]


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_store_file_is_one_error_line(tmp_path, damage):
    home = tmp_path / "home"
    settings = Settings.from_env({}, home=home, retry_initial_interval=0)
    with Harness.open(settings) as h:
        h.start(TOPIC)
    db = settings.sqlite_path
    for extra in db.parent.glob("harness.sqlite-*"):
        extra.unlink()
    if damage == "garbage":
        db.write_bytes(b"this is not a database" * 100)
    else:
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 3])
    for command in (["list"], ["show", "--latest"], ["run", TOPIC, "--no-input"]):
        result = run_cli(*command, env={"HARNESS_HOME": str(home)})
        assert "Traceback" not in result.stderr, result.stderr
        if result.returncode != 0:
            assert result.returncode in (1, 2)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr


def test_a_read_only_home_is_one_error_line(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(home)], capture_output=True
    ).returncode == 0
    if not mounted:
        home.chmod(0o500)  # a user without root: permissions make it read-only
    try:
        result = run_cli("run", TOPIC, "--no-input", env={"HARNESS_HOME": str(home)})
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith("error:") and "run store" in result.stderr
    finally:
        if mounted:
            subprocess.run(["umount", str(home)], check=False)


def test_short_ids_resolve_among_ten_thousand_runs(tmp_path):
    h = Harness.in_memory(Settings.from_env({}, home=tmp_path / "home"))
    first = h.start(TOPIC).run_id
    for i in range(10_000):
        h.store.registry.add_run(f"{i:032x}", f"topic {i}", "linear")
    assert h.resolve_id(first[:8]) == first
    with pytest.raises(Exception, match="no run with id 'latest'"):
        h.get("latest")  # an id like any other, not --latest


# -- the report writer under attack ------------------------------------------------------------


def test_a_folder_swapped_for_a_symlink_after_the_check_is_never_written_through(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "team").mkdir(parents=True)
    outside.mkdir()
    policy = Policy((root,))
    target = policy.check_write(root / "team" / "r.md")  # checked while `team` is a folder
    (root / "team").rmdir()
    (root / "team").symlink_to(outside, target_is_directory=True)  # the race
    with pytest.raises(PolicyViolation, match="symlink"):
        write_report_once(target, "# R\n", policy.root_of(target))
    assert list(outside.iterdir()) == []


def test_symlinks_at_the_report_name_and_its_n_names_are_skipped_not_followed(tmp_path):
    outside = tmp_path / "outside.md"
    (tmp_path / "r.md").symlink_to(tmp_path / "nowhere.md")  # dangling
    (tmp_path / "r-2.md").symlink_to(outside)
    record = write_report_once(tmp_path / "r.md", "# R\n", tmp_path)
    assert record["path"] == str(tmp_path / "r-3.md") and not outside.exists()


def test_a_temp_file_left_by_a_killed_write_is_removed_when_the_run_writes_again(tmp_path):
    record = write_report_once(tmp_path / "r.md", "# R\n", tmp_path)
    # A process killed between publishing the file and removing its temp copy leaves this:
    leftover = tmp_path / f".partial-{record['sha256'][:24]}.md"
    leftover.write_text("# R\n")
    again = write_report_once(tmp_path / "r.md", "# R\n", tmp_path)
    assert again["already_written"] and sorted(p.name for p in tmp_path.iterdir()) == ["r.md"]

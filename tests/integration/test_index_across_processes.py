"""The section index is built by the first process that reads a corpus and opened, not rebuilt,
by every later one; a file changed in between is re-indexed by the next process that runs."""

import json
import os
import shutil

import pytest

from app.config import SAMPLE_CORPUS

pytestmark = pytest.mark.integration
TOPIC = "How do heat pumps work?"


def index_files(home):
    """Every file of the persisted index with its modification time."""
    [where] = (home / "index").iterdir()
    return {p.relative_to(where): p.stat().st_mtime_ns for p in where.rglob("*") if p.is_file()}


def test_a_second_process_opens_the_index_and_a_changed_file_is_reindexed(cli, tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLE_CORPUS, docs)
    first = cli("run", TOPIC, "--corpus", str(docs), "--no-input", "--json")
    assert first.returncode == 0, first.stderr
    built = index_files(tmp_path / "home")

    second = cli("run", TOPIC, "--corpus", str(docs), "--no-input", "--json", "--mode", "fanout")
    assert second.returncode == 0, second.stderr
    assert index_files(tmp_path / "home") == built  # opened: nothing written

    changed = sorted(docs.iterdir())[0]
    changed.write_text(
        "# Borehole Drilling\n\nA borehole for a ground source heat pump is drilled about "
        "one hundred metres deep by a licensed driller.\n"
    )
    os.utime(changed, ns=(1, 1))
    third = cli("run", "How deep is a borehole drilled?", "--corpus", str(docs), "--no-input",
                "--json")
    assert third.returncode == 0, third.stderr
    assert index_files(tmp_path / "home") != built
    run = json.loads(cli("show", json.loads(third.stdout)["run_id"], "--json").stdout)
    assert changed.stem in {m["source_id"] for m in run["values"]["matches"]}

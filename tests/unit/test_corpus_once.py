"""A large corpus is listed once per run and indexed once per content: a run's start, its steps
and its fan-out workers share one listing of the folder; a later run sees files changed in
between; a redraft lists it once more, not once per step."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from app.config import SAMPLE_CORPUS
from app.research import corpus as corpus_module
from app.research import index as index_module
from app.service.runs import Harness
from tests.conftest import TOPIC


@pytest.fixture
def listings(monkeypatch) -> list[str]:
    """Every walk of a corpus folder, by folder."""
    walked: list[str] = []
    real = corpus_module.list_corpus

    def counting(root):
        walked.append(str(root))
        return real(root)

    monkeypatch.setattr(corpus_module, "list_corpus", counting)
    return walked


@pytest.mark.parametrize("mode", ["linear", "fanout"])
def test_a_run_lists_its_corpus_once_for_all_its_steps_and_workers(settings, listings, mode):
    topic = "How do heat pumps work, and what do they cost to run?"
    run = Harness.in_memory(settings).start(topic, mode=mode)
    assert run.status == "waiting_approval" and run.values["facts"]
    assert len(run.values["plan"]) == 2  # in fan-out, two workers opened the index
    assert listings == [str(SAMPLE_CORPUS.resolve())]


def test_a_redraft_lists_the_corpus_once_more_not_once_per_step(settings, listings):
    harness = Harness.in_memory(settings)
    run = harness.start(TOPIC)
    again = harness.reject(run.run_id, feedback="More on the compressor, please.")
    assert again.status == "waiting_approval" and again.values["revisions"] == 1
    assert len(listings) == 2  # the run's start, then the redraft (search, facts, review)


def test_a_file_changed_between_two_runs_is_reindexed_and_found(settings, tmp_path, reads):
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLE_CORPUS, docs)
    harness = Harness.in_memory(settings)
    harness.start(TOPIC, corpus=docs)
    assert len(reads) == 12
    changed = sorted(docs.iterdir())[0]
    changed.write_text(
        "# Borehole Drilling\n\nA borehole for a ground source heat pump is drilled about "
        "one hundred metres deep by a licensed driller.\n"
    )
    os.utime(changed, ns=(1, 1))
    gone = sorted(docs.iterdir())[1]
    gone.unlink()
    run = harness.start("How deep is a borehole drilled?", corpus=docs)
    assert reads[12:] == [changed.name]  # only the changed file was converted again
    cited = {m["source_id"] for m in run.values["matches"]}
    assert changed.stem in cited and gone.stem not in cited
    assert any("borehole" in f["text"].lower() for f in run.values["facts"])


def test_an_index_whose_head_was_not_written_is_finished_not_rebuilt(settings, tmp_path, reads):
    # A process killed after the manifest was written but before the small head file.
    Harness.in_memory(settings).start(TOPIC)
    [where] = (settings.home / "index").iterdir()
    head = json.loads((where / index_module.HEAD).read_text())
    (where / index_module.HEAD).unlink()
    index_module._up_to_date.clear()
    index_module._opened.cache_clear()
    run = Harness.in_memory(settings).start(TOPIC)
    assert run.status == "waiting_approval"
    assert len(reads) == 12  # nothing converted again
    assert json.loads((where / index_module.HEAD).read_text()) == head


def test_a_stopped_run_resumes_on_its_built_index_without_listing_the_folder(
    settings, listings, monkeypatch
):
    from app.errors import RunStopped
    from app.nodes import guard

    real = guard.block_for_crash_test

    def ctrl_c_in_facts(step, where="before"):
        if step == "extract_facts":
            monkeypatch.setattr(guard, "block_for_crash_test", real)
            raise KeyboardInterrupt  # what Ctrl-C inside the step does
        real(step, where)

    monkeypatch.setattr(guard, "block_for_crash_test", ctrl_c_in_facts)
    harness = Harness.in_memory(settings)
    with pytest.raises(RunStopped):
        harness.start(TOPIC)
    assert len(listings) == 1
    run = harness.resume(None)  # the latest run
    assert run.status == "waiting_approval" and run.values["facts"]
    assert len(listings) == 1  # facts, draft and review ran on the index as built

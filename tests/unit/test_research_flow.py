"""Research through the real graph: what the state holds, what the gate shows, what feedback
changes, and that the index is built once and reused."""

from __future__ import annotations

from pathlib import Path

from app.research import index as index_module
from app.research.report_format import NOT_COVERED, SOURCES, parse_report
from app.research.sections import Section
from app.service.runs import Harness
from tests.conftest import TOPIC


def test_the_state_holds_section_ids_and_short_excerpts_never_documents(harness):
    run = harness.start(TOPIC)
    assert run.status == "waiting_approval"
    matches = run.values["matches"]
    assert matches and all("#" in m["section_id"] and len(m["excerpt"]) <= 160 for m in matches)
    for fact in run.values["facts"]:
        assert fact["section_id"].startswith(fact["source_id"] + "#")
        assert len(fact["text"]) < 500
    assert run.values["corpus_note"] == "read all 12 files"
    assert run.pending["corpus"] == "read all 12 files"
    assert run.pending["dropped_facts"] == []


def test_the_report_answers_first_and_lists_sources_as_a_markdown_list(harness):
    draft = harness.start(TOPIC).pending["draft"]
    lines = draft.splitlines()
    assert lines[0] == f"# {TOPIC}" and lines[2].endswith("]")  # the direct answer, cited
    assert "## How do heat pumps work" in draft
    assert draft.index(NOT_COVERED) < draft.index(SOURCES)
    sources = draft.split(SOURCES, 1)[1].strip().splitlines()
    assert sources and all(line.startswith("- [") and line.endswith("`)") for line in sources)
    parsed = parse_report(draft)
    assert parsed.answer and all(cites for _text, cites in parsed.findings)


def test_feedback_changes_what_the_report_says_not_only_its_notes(harness):
    run = harness.start(TOPIC)
    again = harness.reject(run.run_id, feedback="Say more about defrost cycles and ice.")
    assert again.status == "waiting_approval"
    before = run.pending["draft"]
    after = again.pending["draft"].split("## Revision Notes")[0]
    assert after != before
    assert before.lower().count("defrost") < after.lower().count("defrost")
    assert "Say more about defrost cycles and ice." in again.pending["draft"]  # and the note
    # The new facts are what the gate and the report cite.
    assert any("defrost" in f["text"].lower() for f in again.values["facts"])


def test_feedback_that_says_without_pushes_those_sentences_out(harness):
    run = harness.start(TOPIC)
    said = [f["text"] for f in run.values["facts"]]
    assert any("refrigerant" in t.lower() for t in said)
    again = harness.reject(run.run_id, feedback="Without the refrigerant details, please.")
    assert not any("refrigerant" in f["text"].lower() for f in again.values["facts"])


def test_the_index_is_built_once_and_reused_by_later_runs(settings, monkeypatch):
    built: list[str] = []
    real = index_module.read_file

    def counting(root: str, rel: str, doc_id: str):
        built.append(rel)
        return real(root, rel, doc_id)

    monkeypatch.setattr(index_module, "read_file", counting)
    first = Harness.in_memory(settings).start(TOPIC)
    assert len(built) == 12
    second = Harness.in_memory(settings).start("What do heat pumps cost to run?")
    assert len(built) == 12  # opened, not rebuilt
    assert first.status == second.status == "waiting_approval"
    assert len(list((Path(settings.home) / "index").iterdir())) == 1


def test_grounding_before_the_gate_rejects_a_sentence_not_in_its_section():
    from app.research.review import grounding_findings

    section = Section("a#s", "a", "A", "S", "Heat pumps move heat from outside air into a home.")
    good = (
        "# T\n\nHeat pumps move heat from outside air into a home. [1]\n\n"
        "## Sources\n\n- [1] A (`a#s`)\n"
    )
    bad = good.replace("into a home", "for free, forever")
    assert grounding_findings(good, {"a#s": section}) == []
    [finding] = grounding_findings(bad, {"a#s": section})
    assert finding["severity"] == "error" and "not found in its source" in finding["message"]

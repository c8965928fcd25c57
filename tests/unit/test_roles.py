from pathlib import Path

import pytest

from app.config import SAMPLE_CORPUS
from app.research.drafting import OfflineDrafter
from app.research.evidence import prose_sentences, steer_weights
from app.research.facts import MAX_FACTS, OfflineFactExtractor
from app.research.planner import OfflinePlanner
from app.research.report_format import NOT_COVERED, SOURCES, parse_report, render_report
from app.research.review import RuleReviewer
from app.research.sources import gather_evidence, open_sources

TOPIC = "How do heat pumps work?"


@pytest.fixture
def index(tmp_path: Path):
    return open_sources(None, SAMPLE_CORPUS, tmp_path)


def test_planner_keeps_the_topic_and_adds_no_fixed_angles():
    plan = OfflinePlanner().plan(TOPIC)
    assert plan == OfflinePlanner().plan(TOPIC) == ["How do heat pumps work"]
    assert OfflinePlanner().plan("How does X work and how do I clear its cache?") == [
        "How does X work",
        "how do I clear its cache",
    ]


def test_fact_extraction_cites_the_section_each_sentence_came_from(index):
    plan = OfflinePlanner().plan(TOPIC)
    facts = OfflineFactExtractor().extract(TOPIC, plan, gather_evidence(index, TOPIC, plan))
    assert 2 <= len(facts) <= MAX_FACTS
    assert [f["id"] for f in facts] == [f"F{i}" for i in range(1, len(facts) + 1)]
    sections = index.sections([f["section_id"] for f in facts])
    for fact in facts:
        section = sections[fact["section_id"]]
        assert fact["text"] in " ".join(section.text.split())
        assert fact["source_id"] == section.doc_id and fact["source_title"] == section.title
    # The page about how heat pumps work gives the answer's first sentence.
    assert facts[0]["source_id"] == "01-how-heat-pumps-work"


def test_fact_extraction_finds_nothing_off_topic(index):
    evidence = gather_evidence(index, "medieval poetry", ["medieval poetry"])
    assert OfflineFactExtractor().extract("medieval poetry", ["medieval poetry"], evidence) == []


def test_prose_sentences_drop_code_tables_headings_and_split_lists():
    text = (
        "Heat pumps move heat rather than making it from fuel. Short one.\n\n"
        "```\nheat_pump = HeatPump(cop=3.5)  # a code line that is long enough to count\n```\n\n"
        "| column one has words | column two has words too |\n|---|---|\n\n"
        "- The first list item is a sentence of its own here\n"
        "- The second list item is another sentence of its own\n"
    )
    assert [s for s, _terms, _n in prose_sentences(text)] == [
        "Heat pumps move heat rather than making it from fuel.",
        "The first list item is a sentence of its own here",
        "The second list item is another sentence of its own",
    ]


def test_feedback_pulls_some_words_up_and_pushes_negated_ones_down():
    weights = steer_weights(["Mention cold climates, without the history"])
    assert weights["cold"] > 0 and weights["climat"] > 0
    assert weights["histori"] < 0 and "mention" not in weights


def _facts():
    return [
        {"id": "F1", "text": "Heat pumps move heat.", "source_id": "a", "source_title": "A",
         "section_id": "a#one", "question": 0},
        {"id": "F2", "text": "COP is often 3.", "source_id": "b", "source_title": "B",
         "section_id": "b#two", "question": 1},
        {"id": "F3", "text": "They defrost.", "source_id": "a", "source_title": "A",
         "section_id": "a#one", "question": 1},
    ]


def test_draft_answers_first_then_a_section_per_question_then_gaps_and_a_sources_list():
    questions = ["How do heat pumps work", "How efficient are they", "What do they cost"]
    draft = OfflineDrafter().draft(TOPIC, _facts(), [], questions=questions)
    parsed = parse_report(draft)
    assert parsed.title == TOPIC
    # The direct answer: the best fact of each sub-question, cited.
    assert parsed.answer == [("Heat pumps move heat. [1]", [1]), ("COP is often 3. [2]", [2])]
    assert "## How efficient are they\n\n- They defrost. [1]" in draft
    assert "- What do they cost: no evidence for it in this report." in draft
    assert draft.index(NOT_COVERED) < draft.index(SOURCES)
    # Sources is a Markdown list of titles and section ids.
    assert "- [1] A (`a#one`)\n- [2] B (`b#two`)" in draft
    assert parsed.sources == {1: ("A", "a#one"), 2: ("B", "b#two")}


def test_draft_after_feedback_records_the_revision():
    draft = OfflineDrafter().draft(TOPIC, _facts(), ["mention costs"])
    assert "## Revision Notes" in draft and "mention costs" in draft


def test_review_passes_a_well_formed_draft():
    result = RuleReviewer().review(TOPIC, render_report(TOPIC, _facts()), _facts())
    assert result == {"passed": True, "findings": [], "reviewer": "rules"}


def test_review_flags_uncited_sentences_and_unknown_sources():
    draft = (
        "# T\n\nAn answer [1].\n\n## Q\n\n- no citation here\n- cites [7]\n\n"
        "## Sources\n\n- [1] A (`a`)\n"
    )
    result = RuleReviewer().review(TOPIC, draft, _facts())
    assert not result["passed"]
    messages = [f["message"] for f in result["findings"]]
    assert any("without a citation" in m for m in messages)
    assert any("[7]" in m for m in messages)


def test_a_single_fact_passes_marked_thin_and_no_fact_fails():
    one = _facts()[:1]
    result = RuleReviewer().review(TOPIC, render_report(TOPIC, one), one)
    assert result["passed"]
    assert [f["severity"] for f in result["findings"]] == ["warning"]
    assert result["findings"][0]["message"].startswith("thin evidence")
    empty = RuleReviewer().review(TOPIC, render_report(TOPIC, []), [])
    assert not empty["passed"]
    assert any("no facts" in f["message"] for f in empty["findings"])


def test_review_fails_an_empty_draft():
    assert RuleReviewer().review(TOPIC, "", [])["passed"] is False

from app.config import SAMPLE_CORPUS
from app.research.drafting import OfflineDrafter
from app.research.facts import OfflineFactExtractor, split_sentences
from app.research.planner import OfflinePlanner
from app.research.report_format import parse_report, render_report
from app.research.review import RuleReviewer
from app.research.sources import load_folder

TOPIC = "How do heat pumps work?"


def test_planner_is_deterministic_and_keeps_the_topic_as_first_question():
    plan = OfflinePlanner().plan(TOPIC)
    assert plan == OfflinePlanner().plan(TOPIC)
    assert plan[0] == "How do heat pumps work"
    assert len(plan) == 4


def test_fact_extraction_cites_the_source_each_sentence_came_from():
    docs = list(load_folder(SAMPLE_CORPUS))
    facts = OfflineFactExtractor().extract(TOPIC, OfflinePlanner().plan(TOPIC), docs)
    assert 2 <= len(facts) <= 8
    assert [f["id"] for f in facts] == [f"F{i}" for i in range(1, len(facts) + 1)]
    by_id = {d.source_id: d for d in docs}
    for fact in facts:
        assert fact["text"] in " ".join(by_id[fact["source_id"]].text.split())
        assert fact["source_title"] == by_id[fact["source_id"]].title


def test_fact_extraction_finds_nothing_off_topic():
    docs = list(load_folder(SAMPLE_CORPUS))
    assert OfflineFactExtractor().extract("medieval poetry", ["medieval poetry"], docs) == []


def test_split_sentences_skips_headings_and_fragments():
    text = "# Title\n\nHeat pumps move heat rather than making it from fuel. Short one.\nThey work."
    assert split_sentences(text) == ["Heat pumps move heat rather than making it from fuel."]


def _facts():
    return [
        {"id": "F1", "text": "Heat pumps move heat.", "source_id": "a", "source_title": "A"},
        {"id": "F2", "text": "COP is often 3.", "source_id": "b", "source_title": "B"},
        {"id": "F3", "text": "They defrost.", "source_id": "a", "source_title": "A"},
    ]


def test_draft_has_title_key_findings_with_citations_and_sources():
    draft = OfflineDrafter().draft(TOPIC, _facts(), [])
    parsed = parse_report(draft)
    assert parsed.title == TOPIC
    assert [cites for _, cites in parsed.findings] == [[1], [2], [1]]
    assert parsed.sources == {1: ("A", "a"), 2: ("B", "b")}


def test_draft_after_feedback_records_the_revision():
    draft = OfflineDrafter().draft(TOPIC, _facts(), ["mention costs"])
    assert "## Revision Notes" in draft and "mention costs" in draft


def test_review_passes_a_well_formed_draft():
    result = RuleReviewer().review(TOPIC, render_report(TOPIC, _facts()), _facts())
    assert result == {"passed": True, "findings": [], "reviewer": "rules"}


def test_review_fails_uncited_findings_and_dangling_citations():
    draft = (
        "# T\n\n## Key Findings\n\n- no citation here\n- cites [7]\n\n## Sources\n\n[1] A (`a`)\n"
    )
    result = RuleReviewer().review(TOPIC, draft, _facts())
    messages = [f["message"] for f in result["findings"]]
    assert not result["passed"]
    assert any("without a citation" in m for m in messages)
    assert any("[7]" in m for m in messages)


def test_review_fails_an_empty_draft_and_too_few_facts():
    assert RuleReviewer().review(TOPIC, "", [])["passed"] is False
    result = RuleReviewer().review(TOPIC, render_report(TOPIC, _facts()[:1]), _facts()[:1])
    assert not result["passed"]
    assert any("only 1 facts" in f["message"] for f in result["findings"])

"""`Harness.memory`: working context, session state, and a ranked query over the sources the
run retrieved and the facts it extracted (ranked by app/research/'s index)."""

from __future__ import annotations

import pytest

from app.errors import InputError
from tests.conftest import TOPIC


def test_layers_of_a_waiting_run(harness):
    run = harness.start(TOPIC)
    memory = harness.memory(run.run_id)
    context = memory["working_context"]
    assert context["topic"] == TOPIC and context["current_step"] == "finalize_report"
    assert context["plan"] == run.values["plan"]
    assert context["fact_count"] == len(run.values["facts"]) and len(context["facts_preview"]) == 3
    assert context["review_passed"] is True and context["draft_preview"].startswith("#")
    session = memory["session_state"]
    assert session["run_id"] == run.run_id and session["next"] == ["approval"]
    assert session["trace_event_counts"]["run_created"] == 1
    assert session["steps"]["search"]["executions"] == 1


def test_a_query_ranks_the_runs_retrieved_sources_and_facts(harness):
    run = harness.start(TOPIC)
    retrieved = {m["source_id"] for m in run.values["matches"]}
    result = harness.memory(run.run_id, query="defrost cycles in cold weather", top_k=6)
    hits = result["retrieval"]["results"]
    assert result["retrieval"]["searched"] == {
        "sources": len(retrieved), "facts": len(run.values["facts"]),
    }
    assert 0 < len(hits) <= 6
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert {h["source_id"] for h in hits} <= retrieved  # only what the run itself retrieved
    assert any(h["kind"] == "fact" for h in hits) and any(h["kind"] == "source" for h in hits)
    assert any("cold" in h["text"].lower() for h in hits[:2])
    # The default query is the topic; a query nothing matches finds nothing.
    assert harness.memory(run.run_id)["retrieval"]["query"] == TOPIC
    assert harness.memory(run.run_id, query="zebra xylophone")["retrieval"]["results"] == []


def test_fanout_runs_search_their_workers_matches(harness):
    run = harness.start(TOPIC, mode="fanout")
    result = harness.memory(run.run_id, query="refrigerant", top_k=3)["retrieval"]
    assert result["searched"]["sources"] > 0 and result["results"]


def test_a_corpus_gone_since_the_run_still_answers_from_facts(harness, tmp_path):
    corpus = tmp_path / "notes"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Pumps\n\nHeat pumps move heat from outside air inside.\n")
    (corpus / "b.md").write_text("# Costs\n\nA heat pump has a coefficient of performance of 3.\n")
    run = harness.start(TOPIC, corpus=corpus)
    for file in corpus.iterdir():
        file.unlink()
    corpus.rmdir()
    result = harness.memory(run.run_id, query="heat from outside air")["retrieval"]
    assert "cannot be read now" in result["problem"]
    assert result["searched"]["sources"] == 0 and result["results"][0]["kind"] == "fact"


@pytest.mark.parametrize(("query", "top_k"), [("  ", 5), (None, 0), (None, 51)])
def test_bad_query_or_top_k_is_a_clear_error(harness, query, top_k):
    run = harness.start(TOPIC)
    with pytest.raises(InputError):
        harness.memory(run.run_id, query=query, top_k=top_k)

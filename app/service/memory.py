"""A run's memory, in the original harness's three layers (`harness memory ID`):

- working context: what the next step works with (topic, plan, where the run is, the pending
  action, previews of facts, draft and review);
- session state: what the run keeps for pause, resume and inspection (ids, times, per-step
  outcomes and attempts, event counts, the last error, the policy);
- retrieval: a ranked query over the sources the run retrieved and the facts it extracted,
  ranked by the project's own search index (app/research/), so `--query` finds what the run
  itself would find.

Only `_rank` and `_retrieved_sources` know app/research/'s types; the rest works on plain state.
"""

from __future__ import annotations

from typing import Any

from app.config import Settings
from app.errors import HarnessError, InputError
from app.research.index import inline_index
from app.research.sources import Document, open_sources
from app.service.trace_summary import RunLike, current_step, trace_summary

PREVIEW = 3
EXCERPT_CHARS = 280
MAX_TOP_K = 50


def _compact(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def working_context(run: RunLike) -> dict[str, Any]:
    values = run.values
    facts = values.get("facts") or []
    review = values.get("review") or {}
    draft = values.get("draft") or ""
    return {
        "topic": run.topic or values.get("topic"),
        "mode": run.mode,
        "status": run.status,
        "current_step": current_step(run),
        "pending_action": (run.pending or {}).get("action"),
        "plan": list(values.get("plan") or []),
        "fact_count": len(facts),
        "facts_preview": [f"{f['id']}: {_compact(f['text'], 160)}" for f in facts[:PREVIEW]],
        "draft_preview": _compact(draft) if draft else None,
        "review_passed": review.get("passed"),
        "review_findings_preview": list(review.get("findings") or [])[:PREVIEW],
        "feedback": list(values.get("feedback") or []),
    }


def session_state(run: RunLike, rollup: dict[str, Any], created_at: str | None) -> dict[str, Any]:
    error = run.values.get("error")
    return {
        "run_id": run.run_id,
        "created_at": created_at,
        "updated_at": rollup["timeline"]["last_event_at"],
        "status": run.status,
        "next": list(run.next),
        "revisions": run.values.get("revisions", 0),
        "approval": run.values.get("approval"),
        "output_path": run.values.get("output_path"),
        "report": run.values.get("report"),
        "steps": rollup["steps"],
        "trace_event_counts": rollup["counts"]["by_event"],
        "resumes": rollup["resumes"]["count"],
        "last_error": error.get("message") if isinstance(error, dict) else None,
        "state_keys": sorted(run.values),
    }


def _matched_ids(values: dict[str, Any]) -> list[str]:
    matches = list(values.get("matches") or [])
    for sub in values.get("subquestions") or []:  # fan-out workers keep their own matches
        matches += sub.get("matches") or []
    ids = (m.get("section_id") or m.get("source_id") for m in matches)
    return list(dict.fromkeys(i for i in ids if i))


def _retrieved_sources(
    values: dict[str, Any], settings: Settings
) -> tuple[list[Document], str | None]:
    """The sections the run's search retrieved, read from its sources' index; and why not."""
    wanted = _matched_ids(values)
    if not wanted:
        return [], None
    try:
        index = open_sources(values.get("sources"), settings.corpus, settings.home)
    except HarnessError as exc:  # the corpus moved or changed since the run
        return [], f"the run's sources cannot be read now: {exc}"
    found = index.sections(wanted)
    return [Document(s.id, s.title, s.text) for i in wanted if (s := found.get(i))], None


def _rank(query: str, entries: list[Document], k: int) -> list[tuple[Document, float]]:
    """The project's ranking (app/research/) over these entries, each entry once."""
    if not entries:
        return []
    by_id = {d.source_id: d for d in entries}
    index = inline_index(tuple((d.source_id, d.title, d.text) for d in entries))
    ranked: dict[str, float] = {}
    for section, score in index.search(query, k=k * 3):
        ranked.setdefault(section.doc_id, score)
    return [(by_id[i], score) for i, score in list(ranked.items())[:k]]


def retrieve(run: RunLike, settings: Settings, query: str | None, top_k: int) -> dict[str, Any]:
    if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= MAX_TOP_K:
        raise InputError(f"--top-k must be between 1 and {MAX_TOP_K}")
    if query is not None and not (isinstance(query, str) and query.strip()):
        raise InputError("--query must be a non-empty text")
    text = (query or run.topic or run.values.get("topic") or "").strip()
    sources, problem = _retrieved_sources(run.values, settings)
    facts = {
        f"fact:{f['id']}": f for f in run.values.get("facts") or [] if f.get("text")
    }
    entries = [*sources]
    entries += [
        Document(key, f"{f['id']} ({f.get('source_title') or f.get('source_id')})", f["text"])
        for key, f in facts.items()
    ]
    results = []
    for doc, score in _rank(text, entries, top_k):
        fact = facts.get(doc.source_id)
        results.append(
            {
                "kind": "fact" if fact else "source",
                "id": fact["id"] if fact else doc.source_id,  # a section id for sources
                "source_id": fact["source_id"] if fact else doc.source_id.split("#", 1)[0],
                "title": fact.get("source_title") if fact else doc.title,
                "score": round(score, 4),
                "text": _compact(doc.text),
            }
        )
    return {
        "query": text,
        "top_k": top_k,
        "searched": {"sources": len(sources), "facts": len(facts)},
        "problem": problem,
        "results": results,
    }


def memory_snapshot(
    run: RunLike,
    settings: Settings,
    *,
    created_at: str | None = None,
    query: str | None = None,
    top_k: int = 5,
) -> dict[str, Any]:
    retrieval = retrieve(run, settings, query, top_k)
    return {
        "run_id": run.run_id,
        "working_context": working_context(run),
        "session_state": session_state(run, trace_summary(run), created_at),
        "retrieval": retrieval,
    }

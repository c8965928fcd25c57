"""Fact extraction: pick the sentences that best answer the plan, each cited to its source."""

from __future__ import annotations

import re
from functools import lru_cache

from app.research.sources import Document, tokenize
from app.state import Fact

MAX_FACTS = 8
MAX_PER_SOURCE = 2
MIN_SENTENCE_CHARS = 40
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def split_sentences(text: str) -> list[str]:
    body = " ".join(
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return [s.strip() for s in _SENTENCE_END.split(body) if len(s.strip()) >= MIN_SENTENCE_CHARS]


@lru_cache(maxsize=512)
def sentence_terms(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """A document's sentences with their terms. Cached: the same documents come back in every
    run, and splitting and tokenizing them was most of this step's time (bench/profile_hot_path)."""
    return tuple((s, frozenset(tokenize(s))) for s in split_sentences(text))


def number_facts(facts: list[Fact]) -> list[Fact]:
    return [{**fact, "id": f"F{i}"} for i, fact in enumerate(facts, start=1)]


class OfflineFactExtractor:
    provider = "offline"

    def extract(self, topic: str, questions: list[str], documents: list[Document]) -> list[Fact]:
        wanted = set(tokenize(" ".join([topic, *questions])))
        topic_terms = set(tokenize(topic))
        scored: list[tuple[float, int, Document, str]] = []
        order = 0
        for doc in documents:
            for sentence, terms in sentence_terms(doc.text):
                # Topic words count double: a fact must be about the subject, not only the angle.
                score = len(terms & wanted) + len(terms & topic_terms)
                if terms & topic_terms:
                    scored.append((score, order, doc, sentence))
                order += 1
        scored.sort(key=lambda item: (-item[0], item[1]))
        facts: list[Fact] = []
        per_source: dict[str, int] = {}
        seen: set[str] = set()
        for _score, _order, doc, sentence in scored:
            key = sentence.lower()
            if key in seen or per_source.get(doc.source_id, 0) >= MAX_PER_SOURCE:
                continue
            seen.add(key)
            per_source[doc.source_id] = per_source.get(doc.source_id, 0) + 1
            facts.append(
                {"id": "", "text": sentence, "source_id": doc.source_id, "source_title": doc.title}
            )
            if len(facts) == MAX_FACTS:
                break
        return number_facts(facts)

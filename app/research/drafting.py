"""Drafting: write the Markdown report from the cited facts, organised by sub-question."""

from __future__ import annotations

import re

from app.research.evidence import FRAME_TERMS
from app.research.report_format import render_report
from app.research.terms import terms
from app.state import Fact

_WORD = re.compile(r"[A-Za-z0-9][\w.-]*[A-Za-z0-9]|[A-Za-z0-9]")


def uncovered_words(topic: str, facts: list[Fact]) -> list[str]:
    """Words of the question that no cited sentence mentions (compared as stemmed terms)."""
    said = {t for f in facts for t in terms(f["text"])}
    missing: list[str] = []
    for word in _WORD.findall(topic):
        word_terms = terms(word)
        if set(word_terms) <= FRAME_TERMS:
            continue  # "work" in "how does X work" names no subject
        if word_terms and not set(word_terms) <= said and word.lower() not in missing:
            missing.append(word.lower())
    return missing


def not_covered(topic: str, facts: list[Fact]) -> list[str]:
    missing = uncovered_words(topic, facts)
    if not missing or not facts:
        return []
    return ["The cited sentences do not mention: " + ", ".join(f"'{w}'" for w in missing) + "."]


class OfflineDrafter:
    provider = "offline"

    def draft(
        self, topic: str, facts: list[Fact], feedback: list[str], questions: list[str] | None = None
    ) -> str:
        return render_report(
            topic, facts, feedback, questions=questions, not_covered=not_covered(topic, facts)
        )

"""Fact extraction, offline: per sub-question, the best prose sentences of the best sections
(app/research/evidence.py), each cited to its section."""

from __future__ import annotations

import math
import re

from app.research.evidence import EvidenceSet, select, steer_weights
from app.state import Fact

MAX_FACTS = 16
MIN_PER_QUESTION = 4


_API_HEADING = re.compile(
    r"^(?:class |exception |async |@)?([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+|[A-Za-z_]\w*(?=\())(\()?"
)


def labelled(sentence: str, heading: str) -> str:
    """A sentence from an API reference entry, labelled with the name it describes: under
    "Path.read_text(encoding=None)", "Return the decoded contents ..." becomes
    "`Path.read_text()`: Return the decoded contents ..." (the reader needs the name)."""
    match = _API_HEADING.match(heading.strip())
    if not match or match.group(1) in sentence:
        return sentence
    return f"`{match.group(1)}{'()' if match.group(2) else ''}`: {sentence}"


def number_facts(facts: list[Fact]) -> list[Fact]:
    return [{**fact, "id": f"F{i}"} for i, fact in enumerate(facts, start=1)]


def per_question_limit(n_questions: int) -> int:
    return max(MIN_PER_QUESTION, math.ceil(MAX_FACTS / max(n_questions, 1)))


class OfflineFactExtractor:
    provider = "offline"

    def extract(self, topic: str, questions: list[str], evidence: EvidenceSet) -> list[Fact]:
        steer = steer_weights(evidence.feedback)
        limit = per_question_limit(len(questions))
        taken: set[str] = set()
        facts: list[Fact] = []
        for offset, (question, candidates) in enumerate(
            zip(questions, evidence.candidates, strict=False)
        ):
            chosen = select(
                question,
                evidence.first_index + offset,
                topic,
                candidates,
                evidence.idf,
                limit,
                steer,
                taken,
            )
            for item in chosen:
                taken.add(" ".join(item.text.lower().split()))
                facts.append(
                    {
                        "id": "",
                        "text": labelled(item.text, item.section.heading),
                        "source_id": item.section.doc_id,
                        "source_title": item.section.title,
                        "section_id": item.section.id,
                        "question": item.question,
                    }
                )
        return number_facts(facts)

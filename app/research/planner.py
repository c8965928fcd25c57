"""Planner: turn a topic into the sub-questions the report answers, one section each.

Offline, the sub-questions are the topic's own questions ("How does X work and how do I clear
it?" is two); no fixed angles are added, so a report is about what was asked. A model planner
(app/models/roles.py) may add its own sub-questions.
"""

from __future__ import annotations

import re

from app.research.terms import terms

MAX_QUESTIONS = 4
# "... and how ...", "...; what ...": a new clause that asks something else.
_CLAUSE = re.compile(
    r"(?:\?\s+|;\s*|(?:,\s+|,?\s+and\s+)(?=(?:how|what|why|when|which|where|who|whether|is|"
    r"are|does|do|can|should)\b))",
    re.IGNORECASE,
)


def split_questions(topic: str) -> list[str]:
    subject = " ".join(topic.split()).strip()
    parts = [p.strip(" ?.!,;") for p in _CLAUSE.split(subject)]
    questions = [p for p in parts if terms(p)]
    return questions[:MAX_QUESTIONS] or [subject.rstrip("?.!")]


class OfflinePlanner:
    provider = "offline"

    def plan(self, topic: str) -> list[str]:
        return split_questions(topic)

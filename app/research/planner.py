"""Planner: turn a topic into the search questions that the rest of the run answers."""

from __future__ import annotations

from app.research.sources import tokenize

# Angles every report covers; deterministic so offline runs are reproducible.
ANGLES = ("how it works", "performance and costs", "limitations and risks")


class OfflinePlanner:
    provider = "offline"

    def plan(self, topic: str) -> list[str]:
        subject = topic.strip().rstrip("?.!")
        questions = [subject]
        if tokenize(subject):
            questions += [f"{subject}: {angle}" for angle in ANGLES]
        return questions

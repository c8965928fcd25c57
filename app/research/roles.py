"""The four roles the graph calls and their deterministic offline implementations.
Model-backed ones live in app/models/roles.py; `roles_for(settings)` there picks between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.research.evidence import EvidenceSet
from app.state import Fact, ReviewResult


class Planner(Protocol):
    provider: str

    def plan(self, topic: str) -> list[str]: ...


class FactExtractor(Protocol):
    provider: str

    def extract(self, topic: str, questions: list[str], evidence: EvidenceSet) -> list[Fact]: ...


class Drafter(Protocol):
    provider: str

    def draft(
        self, topic: str, facts: list[Fact], feedback: list[str], questions: list[str] | None = None
    ) -> str: ...


class Reviewer(Protocol):
    provider: str

    def review(self, topic: str, draft: str, facts: list[Fact]) -> ReviewResult: ...


@dataclass(frozen=True)
class Roles:
    planner: Planner
    facts: FactExtractor
    drafter: Drafter
    reviewer: Reviewer

    def providers(self) -> dict[str, str]:
        return {
            "planner": self.planner.provider,
            "facts": self.facts.provider,
            "drafter": self.drafter.provider,
            "reviewer": self.reviewer.provider,
        }


def offline_roles() -> Roles:
    from app.research.drafting import OfflineDrafter
    from app.research.facts import OfflineFactExtractor
    from app.research.planner import OfflinePlanner
    from app.research.review import RuleReviewer

    return Roles(OfflinePlanner(), OfflineFactExtractor(), OfflineDrafter(), RuleReviewer())

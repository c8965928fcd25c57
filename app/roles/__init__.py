"""The four roles the graph calls. Each has a deterministic offline implementation;
model-backed ones are chosen by `roles_for(settings)` when a model is configured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from app.sources import Document
from app.state import Fact, ReviewResult

if TYPE_CHECKING:
    from app.config import Settings


class Planner(Protocol):
    provider: str

    def plan(self, topic: str) -> list[str]: ...


class FactExtractor(Protocol):
    provider: str

    def extract(
        self, topic: str, questions: list[str], documents: list[Document]
    ) -> list[Fact]: ...


class Drafter(Protocol):
    provider: str

    def draft(self, topic: str, facts: list[Fact], feedback: list[str]) -> str: ...


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
    from app.roles.drafting import OfflineDrafter
    from app.roles.facts import OfflineFactExtractor
    from app.roles.planner import OfflinePlanner
    from app.roles.review import RuleReviewer

    return Roles(OfflinePlanner(), OfflineFactExtractor(), OfflineDrafter(), RuleReviewer())


def roles_for(settings: Settings) -> Roles:
    """The roles a run uses: offline unless a model is configured (HARNESS_MODEL or
    HARNESS_BASE_URL; see app/llm.py). The model client is built on first use."""
    if not getattr(settings, "uses_model", False):
        return offline_roles()
    from app.llm import ModelCaller
    from app.roles.model_roles import model_roles

    return model_roles(ModelCaller.from_settings(settings))

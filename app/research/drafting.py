"""Drafting: write the Markdown report from the cited facts."""

from __future__ import annotations

from app.research.report_format import render_report
from app.state import Fact


class OfflineDrafter:
    provider = "offline"

    def draft(self, topic: str, facts: list[Fact], feedback: list[str]) -> str:
        return render_report(topic, facts, feedback)

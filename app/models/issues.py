"""Problems a role met with a model's answer, handed to the step that called the role.

A role keeps its plain return type (a plan, facts, a draft, a review) and falls back to a safe
value when the model's answer cannot be used; what went wrong is reported here. The step wraps
the call in `collect_issues()`, stores the issues in state (`model_issues`) and the review step
turns them into findings, so a run with an unusable answer ends `review_failed` with the answer's
excerpt on record instead of raising. The sink is a context variable: parallel workers (each in
its own thread and context) never see each other's issues.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

from app.models.parsing import excerpt as make_excerpt
from app.state import ModelIssue

log = logging.getLogger(__name__)

_SINK: ContextVar[list[ModelIssue] | None] = ContextVar("harness_model_issues", default=None)


@contextmanager
def collect_issues() -> Iterator[list[ModelIssue]]:
    """Collect the issues reported by the role calls inside the block."""
    issues: list[ModelIssue] = []
    token = _SINK.set(issues)
    try:
        yield issues
    finally:
        _SINK.reset(token)


def report_issue(
    step: str,
    problem: str,
    answer: str | None = "",
    *,
    severity: Literal["error", "warning"] = "error",
    provider: str = "",
) -> ModelIssue:
    issue: ModelIssue = {
        "step": step,
        "severity": severity,
        "problem": problem,
        "excerpt": make_excerpt(answer),
        "provider": provider,
    }
    sink = _SINK.get()
    if sink is None:
        # Called outside a step that collects (a direct call from a script): keep it visible.
        log.warning("model answer problem at %s: %s", step, problem)
    else:
        sink.append(issue)
    return issue


def issue_findings(issues: list[ModelIssue]) -> list[dict[str, str]]:
    """Review findings for the recorded issues, each with the answer's excerpt."""
    findings = []
    for issue in issues:
        text = f"model answer at {issue['step']}: {issue['problem']}"
        if issue.get("excerpt"):
            text += f' (answer: "{issue["excerpt"]}")'
        elif issue["severity"] == "error":
            text += " (answer: empty)"
        findings.append({"severity": issue["severity"], "message": text})
    return findings

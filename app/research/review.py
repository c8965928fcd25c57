"""Review: check the draft before a person sees it. Rule checks always run; a model reviewer
(when configured) adds its findings on top."""

from __future__ import annotations

from app.research.report_format import parse_report
from app.state import Fact, ReviewResult

MIN_FINDINGS = 2
MAX_REPORT_CHARS = 50_000


def rule_findings(draft: str, facts: list[Fact]) -> list[dict[str, str]]:
    findings: list[dict[str, str]] = []

    def error(message: str) -> None:
        findings.append({"severity": "error", "message": message})

    if not draft.strip():
        return [{"severity": "error", "message": "the draft is empty"}]
    if len(draft) > MAX_REPORT_CHARS:
        error(f"the draft is longer than {MAX_REPORT_CHARS} characters")
    report = parse_report(draft)
    if not report.title:
        error("the draft has no '# ' title")
    if len(facts) < MIN_FINDINGS:
        error(f"only {len(facts)} facts were found in the sources (need {MIN_FINDINGS})")
    if len(report.findings) < MIN_FINDINGS:
        error(f"'Key Findings' has {len(report.findings)} items (need {MIN_FINDINGS})")
    if not report.sources:
        error("the draft lists no sources")
    for text, cites in report.findings:
        if not cites:
            error(f"finding without a citation: {text[:80]}")
        for n in cites:
            if n not in report.sources:
                error(f"finding cites [{n}], which is not in Sources")
    return findings


def review_result(findings: list[dict[str, str]], reviewer: str) -> ReviewResult:
    passed = not any(f["severity"] == "error" for f in findings)
    return {"passed": passed, "findings": findings, "reviewer": reviewer}


class RuleReviewer:
    provider = "offline"

    def review(self, topic: str, draft: str, facts: list[Fact]) -> ReviewResult:
        return review_result(rule_findings(draft, facts), "rules")

"""Review: check the draft before a person sees it. Rule checks always run; a model reviewer
(when configured) adds its findings on top. A draft with a single fact passes, marked thin:
a small honest source set gives a short report for a person to judge, not a failed run."""

from __future__ import annotations

from app.research.grounding import found_in, section_text
from app.research.report_format import claim_text, parse_report
from app.research.sections import Section
from app.state import Fact, ReviewResult

MIN_FINDINGS = 2
MAX_REPORT_CHARS = 50_000
THIN = "thin evidence"


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
    if not facts:
        error("no facts were found in the sources")
    elif len(facts) < MIN_FINDINGS:
        findings.append(
            {
                "severity": "warning",
                "message": f"{THIN}: only {len(facts)} fact was found in the sources; "
                "the report is short and rests on one sentence",
            }
        )
    if not report.findings:
        error("the draft has no cited sentences")
    if not report.sources:
        error("the draft lists no sources")
    for text, cites in report.findings:
        if not cites:
            error(f"sentence without a citation: {text[:80]}")
        for n in cites:
            if n not in report.sources:
                error(f"sentence cites [{n}], which is not in Sources")
    return findings


def grounding_findings(draft: str, sections: dict[str, Section]) -> list[dict[str, str]]:
    """Every cited sentence must be found in a section it cites."""
    report = parse_report(draft)
    findings = []
    for text, cites in report.findings:
        cited = [sections.get(report.sources[n][1] or "") for n in cites if n in report.sources]
        if not cites or not any(cited):
            continue  # uncited or unknown: already a rule finding
        claim = claim_text(text)
        if not any(s is not None and found_in(claim, section_text(s)) for s in cited):
            findings.append(
                {
                    "severity": "error",
                    "message": f"cited sentence not found in its source {cites}: {claim[:80]}",
                }
            )
    return findings


def is_thin(result: ReviewResult) -> bool:
    return any(f["message"].startswith(THIN) for f in result["findings"])


def review_result(findings: list[dict[str, str]], reviewer: str) -> ReviewResult:
    passed = not any(f["severity"] == "error" for f in findings)
    return {"passed": passed, "findings": findings, "reviewer": reviewer}


class RuleReviewer:
    provider = "offline"

    def review(self, topic: str, draft: str, facts: list[Fact]) -> ReviewResult:
        return review_result(rule_findings(draft, facts), "rules")

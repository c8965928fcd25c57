"""The report's Markdown shape, written by drafting and read back by review and eval."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.state import Fact

KEY_FINDINGS = "## Key Findings"
SOURCES = "## Sources"
_CITATION = re.compile(r"\[(\d+)\]")
_SOURCE_LINE = re.compile(r"^\[(\d+)\]\s+(.+?)(?:\s+\(`([^`]+)`\))?\s*$")


@dataclass
class ParsedReport:
    title: str | None = None
    findings: list[tuple[str, list[int]]] = field(default_factory=list)
    sources: dict[int, tuple[str, str | None]] = field(default_factory=dict)


def render_report(
    topic: str, facts: list[Fact], feedback: list[str] | None = None, summary: str | None = None
) -> str:
    """Title, summary, Key Findings with numbered citations, Sources (and revision notes)."""
    numbers: dict[str, int] = {}
    for fact in facts:
        numbers.setdefault(fact["source_id"], len(numbers) + 1)
    titles = {f["source_id"]: f["source_title"] for f in facts}
    summary = summary or (
        f"This report summarises {len(facts)} findings from {len(numbers)} sources on "
        f"{topic.rstrip('?.')}."
    )
    lines = [f"# {topic.strip()}", "", summary, "", KEY_FINDINGS, ""]
    lines += [f"- {f['text'].strip()} [{numbers[f['source_id']]}]" for f in facts]
    lines += ["", SOURCES, ""]
    lines += [f"[{n}] {titles[sid]} (`{sid}`)" for sid, n in numbers.items()]
    if feedback:
        lines += ["", "## Revision Notes", ""]
        lines += [f"- Revised after reviewer feedback: {note.strip()}" for note in feedback]
    return "\n".join(lines) + "\n"


def parse_report(markdown: str) -> ParsedReport:
    parsed = ParsedReport()
    section = None
    for raw in markdown.splitlines():
        line = raw.strip()
        if line.startswith("# ") and parsed.title is None:
            parsed.title = line[2:].strip()
        elif line.startswith("## "):
            section = line
        elif section == KEY_FINDINGS and line.startswith(("- ", "* ")):
            parsed.findings.append((line[2:], [int(n) for n in _CITATION.findall(line)]))
        elif section == SOURCES and (match := _SOURCE_LINE.match(line)):
            parsed.sources[int(match.group(1))] = (match.group(2), match.group(3))
    return parsed

"""The report's Markdown shape, written by drafting and read back by review and eval.

```
# Title (the question)

A direct answer in a few cited sentences [1] [2].

## One section per sub-question

- A cited sentence from the sources [3]

## What the sources do not cover

- ...

## Sources

- [1] Document — Section (`doc_id#section-slug`)
```

Citations number sections (not whole documents), in the order the report first cites them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.state import Fact

SOURCES = "## Sources"
NOT_COVERED = "## What the sources do not cover"
REVISION_NOTES = "## Revision Notes"
ANSWER_SENTENCES = 3
_CITATION = re.compile(r"\[(\d+)\]")
_SOURCE_LINE = re.compile(r"^(?:[-*]\s+)?\[(\d+)\]\s+(.+?)(?:\s+\(`([^`]+)`\))?\s*$")
_CITED_SENTENCE = re.compile(r"(.+?(?:\[\d+\]\s*)+)")
_NOT_CLAIMS = (SOURCES, NOT_COVERED, REVISION_NOTES, "## Evidence Gaps")


@dataclass
class ParsedReport:
    title: str | None = None
    answer: list[tuple[str, list[int]]] = field(default_factory=list)
    # Every claim: the answer's sentences and the sub-question sections' items.
    findings: list[tuple[str, list[int]]] = field(default_factory=list)
    sources: dict[int, tuple[str, str | None]] = field(default_factory=dict)


def unit_id(fact: Fact) -> str:
    return fact.get("section_id") or fact["source_id"]


def render_report(
    topic: str,
    facts: list[Fact],
    feedback: list[str] | None = None,
    answer: str | None = None,
    questions: list[str] | None = None,
    not_covered: list[str] | None = None,
) -> str:
    """Title, a direct answer, a section per sub-question, gaps, Sources, revision notes.

    `facts` are in order of importance within each question; `answer` is a model-written
    answer (already cited with the numbers this function assigns, see `citation_numbers`)."""
    questions = questions or [topic.strip()]
    numbers = citation_numbers(facts)
    titles = {unit_id(f): f["source_title"] for f in facts}
    by_question: dict[int, list[Fact]] = {}
    for fact in facts:
        by_question.setdefault(min(fact.get("question", 0), len(questions) - 1), []).append(fact)
    lead = answer_facts(facts, len(questions))
    lines = [f"# {topic.strip()}", ""]
    if answer:
        lines += [answer.strip(), ""]
    elif lead:
        lines += [" ".join(_cited(f, numbers) for f in lead), ""]
    else:
        lines += ["The sources do not answer this question.", ""]
    used = {id(f) for f in lead} if not answer else set()
    for i, question in enumerate(questions):
        rest = [f for f in by_question.get(i, []) if id(f) not in used]
        if not by_question.get(i):
            continue
        lines += [f"## {_heading(question)}", ""]
        lines += [f"- {_cited(f, numbers)}" for f in rest] or [
            "The answer above is all the sources say on this."
        ]
        lines.append("")
    lines += [NOT_COVERED, ""]
    gaps = list(not_covered or [])
    gaps += [
        f"{_heading(q)}: no evidence for it in this report."
        for i, q in enumerate(questions)
        if not by_question.get(i)
    ]
    lines += [f"- {gap}" for gap in gaps] or [
        f"- Only what the {len(numbers)} cited section{'s say' if len(numbers) != 1 else ' says'}"
        " is covered; nothing else is claimed."
    ]
    lines += ["", SOURCES, ""]
    lines += [f"- [{n}] {titles[uid]} (`{uid}`)" for uid, n in numbers.items()]
    if feedback:
        lines += ["", REVISION_NOTES, ""]
        lines += [f"- Revised after reviewer feedback: {note.strip()}" for note in feedback]
    return "\n".join(lines) + "\n"


def citation_numbers(facts: list[Fact]) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for fact in answer_facts(facts, 1 + max((f.get("question", 0) for f in facts), default=0)):
        numbers.setdefault(unit_id(fact), len(numbers) + 1)
    for fact in facts:
        numbers.setdefault(unit_id(fact), len(numbers) + 1)
    return numbers


def answer_facts(facts: list[Fact], n_questions: int) -> list[Fact]:
    """The direct answer: the best fact of each sub-question (facts arrive best first), then the
    next best, up to a few sentences."""
    firsts: list[Fact] = []
    seen_questions: set[int] = set()
    for fact in facts:
        q = fact.get("question", 0)
        if q not in seen_questions:
            seen_questions.add(q)
            firsts.append(fact)
    if len(firsts) < 2:
        firsts += [f for f in facts if f not in firsts][: 2 - len(firsts)]
    return firsts[:ANSWER_SENTENCES]


def _cited(fact: Fact, numbers: dict[str, int]) -> str:
    text = fact["text"].strip()
    return f"{text} [{numbers[unit_id(fact)]}]"


def _heading(question: str) -> str:
    text = " ".join(question.split()).rstrip()
    return text[:1].upper() + text[1:]


def parse_report(markdown: str) -> ParsedReport:
    parsed = ParsedReport()
    section = None
    for raw in markdown.splitlines():
        line = raw.strip()
        if line.startswith("# ") and parsed.title is None:
            parsed.title = line[2:].strip()
        elif line.startswith("## "):
            section = line
        elif section == SOURCES and (match := _SOURCE_LINE.match(line)):
            parsed.sources[int(match.group(1))] = (match.group(2), match.group(3))
        elif section is None and parsed.title is not None and line:
            for sentence in _CITED_SENTENCE.findall(line):
                claim = (sentence.strip(), [int(n) for n in _CITATION.findall(sentence)])
                parsed.answer.append(claim)
                parsed.findings.append(claim)
        elif section not in _NOT_CLAIMS and section and line.startswith(("- ", "* ")):
            parsed.findings.append((line[2:], [int(n) for n in _CITATION.findall(line)]))
    return parsed


def claim_text(claim: str) -> str:
    """A claim without its citation markers."""
    return _CITATION.sub("", claim).strip()

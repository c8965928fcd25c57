"""Grounding: a cited sentence must be found in the section it cites, verbatim or nearly so
(case, spacing, quotes and Markdown markup ignored; or at least 85 % of its word trigrams
present in the section). Facts that fail are dropped before the draft and shown at the gate."""

from __future__ import annotations

import re
import unicodedata

from app.research.sections import Section, clean_inline
from app.state import Fact

NEAR_VERBATIM = 0.85
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_MARKUP = re.compile(r"[`*_]")
_WORDS = re.compile(r"[a-z0-9]+")
_LABEL = re.compile(r"^`([^`]+)`:\s+(.+)$", re.S)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", clean_inline(text)).translate(_QUOTES)
    return " ".join(_MARKUP.sub("", text).lower().split())


def _trigrams(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}


def found_in(sentence: str, section_text: str) -> bool:
    """`section_text` should include the section's heading: a fact from an API reference is
    written "`Path.read_text()`: Return the decoded contents ...", its label taken from the
    heading it stands under."""
    if match := _LABEL.match(sentence.strip()):
        label = normalise(match.group(1)).rstrip("()")
        if label not in normalise(section_text):
            return False
        sentence = match.group(2)
    claim, source = normalise(sentence), normalise(section_text)
    if not claim:
        return False
    if claim.rstrip(".") in source:
        return True
    claim_words, source_words = _WORDS.findall(claim), _WORDS.findall(source)
    if len(claim_words) < 3:
        return False
    wanted = _trigrams(claim_words)
    have = _trigrams(source_words)
    return len(wanted & have) / len(wanted) >= NEAR_VERBATIM


def ground_facts(
    facts: list[Fact], sections: dict[str, Section]
) -> tuple[list[Fact], list[dict[str, str]]]:
    """(facts found in their section, dropped facts with the reason)."""
    kept: list[Fact] = []
    dropped: list[dict[str, str]] = []
    for fact in facts:
        section_id = fact.get("section_id") or ""
        section = sections.get(section_id)
        if section is None:
            dropped.append(
                _dropped(fact, f"cites {section_id or 'no section'}, which was not given")
            )
        elif not found_in(fact["text"], section_text(section)):
            dropped.append(_dropped(fact, f"not found in {section_id}"))
        else:
            kept.append(fact)
    return kept, dropped


def section_text(section: Section) -> str:
    return f"{section.heading}\n{section.text}"


def _dropped(fact: Fact, reason: str) -> dict[str, str]:
    return {
        "text": fact["text"][:300],
        "section_id": fact.get("section_id") or "",
        "reason": reason,
    }

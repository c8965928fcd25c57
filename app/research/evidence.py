"""Evidence: the prose sentences of the best sections, scored against one sub-question and chosen
with diversity.

- Only prose counts: code blocks and tables are dropped, each list item is its own unit, and
  headings are not sentences.
- A sentence's score is the idf-weighted share of the question's terms it contains, damped by its
  length (a long sentence does not win by word count), times how well its section ranked.
- Selection is greedy with a redundancy penalty (maximal marginal relevance): a sentence that
  repeats one already chosen, or comes from a section already used, is worth less. There is no
  fixed per-source cap: the page that holds the answer may give several sentences.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.research.sections import FENCE, Section
from app.research.terms import terms

MIN_SENTENCE_CHARS = 30
MAX_SENTENCE_CHARS = 420
MIN_SHARE = 0.2  # of the question's weighted terms a sentence must contain
SAME_SECTION_PENALTY = 0.08
SAME_DOC_PENALTY = 0.02
REDUNDANCY_WEIGHT = 0.7
RELATIVE_FLOOR = 0.45
CONTEXT_WEIGHT = 0.6
# A person answering reads the few best pages, not a sentence from every page that matched.
DOC_FLOOR = 0.5
MAX_DOCS = 3
_TABLE = re.compile(r"^\s*\|.*\|\s*$|^\s*[-:|\s]{3,}$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_DEFINITION = re.compile(r"^\s*:\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(`])")
_BRACKET_NUMBER = re.compile(r"\[\d+\]")
_VERSION_NOTE = re.compile(r"^[A-Z][\w ]{0,40}\bv?\d+(?:\.\d+)+\s*:")
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|Mr|Dr|No)\.$")


@dataclass(frozen=True)
class Candidate:
    section: Section
    rank_score: float  # the index's score for this section (for this question)


@dataclass(frozen=True)
class EvidenceSet:
    """What fact extraction works from: for each sub-question, the best sections (best first)."""

    candidates: tuple[tuple[Candidate, ...], ...]
    idf: Callable[[str], float]
    first_index: int = 0  # question index of the first entry (a fan-out worker answers one)
    feedback: tuple[str, ...] = ()

    def sections(self) -> dict[str, Section]:
        return {c.section.id: c.section for group in self.candidates for c in group}

    def ranked_sections(self) -> list[Section]:
        """Sections in round-robin order across the sub-questions, best first, no repeats."""
        seen: dict[str, Section] = {}
        for rank in range(max((len(g) for g in self.candidates), default=0)):
            for group in self.candidates:
                if rank < len(group):
                    seen.setdefault(group[rank].section.id, group[rank].section)
        return list(seen.values())


@dataclass(frozen=True)
class Evidence:
    text: str
    section: Section
    score: float
    question: int


def _blocks(text: str) -> list[str]:
    """Paragraphs and list items of prose, without code blocks and tables."""
    blocks: list[str] = []
    current: list[str] = []
    in_code = False

    def flush() -> None:
        if current:
            blocks.append(" ".join(current))
            current.clear()

    for line in text.splitlines():
        if FENCE.match(line):
            flush()
            in_code = not in_code
            continue
        if in_code or _TABLE.match(line):
            flush()
            continue
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        if _LIST_ITEM.match(line) or _DEFINITION.match(line):
            flush()
            stripped = _DEFINITION.sub("", _LIST_ITEM.sub("", line)).strip()
        current.append(stripped)
    flush()
    return blocks


def _split(block: str) -> list[str]:
    pieces = _SENTENCE_END.split(block)
    sentences: list[str] = []
    for piece in pieces:
        if sentences and _ABBREVIATION.search(sentences[-1]):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return [s.strip() for s in sentences]


def _is_prose(sentence: str) -> bool:
    if not MIN_SENTENCE_CHARS <= len(sentence) <= MAX_SENTENCE_CHARS:
        return False
    if sentence.endswith(":") or sentence.startswith("(") or sentence.count("`") > 8:
        return False  # a lead-in to an example, an aside, or mostly code
    if _BRACKET_NUMBER.search(sentence):
        return False  # "[10]" in a sentence would read as a citation
    if _VERSION_NOTE.match(sentence):
        return False  # "Changed in version 3.6: ..." records history, it answers nothing
    letters = sum(c.isalpha() or c == " " for c in sentence)
    return letters / len(sentence) >= 0.75 and len(sentence.split()) >= 5


@lru_cache(maxsize=4096)
def prose_sentences(text: str) -> tuple[tuple[str, frozenset[str], int], ...]:
    """(sentence, its terms, its term count) for the prose of a section; cached because the same
    sections come back for every sub-question and every run."""
    out = []
    for block in _blocks(text):
        for sentence in _split(block):
            if _is_prose(sentence):
                words = terms(sentence)
                out.append((sentence, frozenset(words), len(words)))
    return tuple(out)


_NEGATION = re.compile(
    r"\b(?:no|not|without|less|fewer|drop|remove|exclude|avoid|skip|omit)\b((?:\s+\w+){1,3})",
    re.IGNORECASE,
)
STEER_UP = 0.6
# Words of an instruction, not of the subject.
INSTRUCTION_WORDS = frozenset(
    "mention more please add include focus cover detail details explain also report section "
    "answer sentence sentences shorter longer instead about say tell talk write give need want "
    "less".split()
)
STEER_DOWN = -2.0


def feedback_words(feedback: Sequence[str]) -> tuple[str, ...]:
    """The words of the feedback worth searching for (not "please", "mention", "more")."""
    words = re.findall(r"[A-Za-z0-9]+", " ".join(feedback))
    return tuple(w for w in words if w.lower() not in INSTRUCTION_WORDS)


def steer_weights(feedback: Sequence[str]) -> dict[str, float]:
    """A reviewer's feedback as term weights: words after "no/without/less/drop ..." push
    sentences down, the other words pull sentences that mention them up."""
    weights: dict[str, float] = {}
    for note in feedback:
        for match in _NEGATION.finditer(note):
            for term in terms(match.group(1)):
                weights[term] = STEER_DOWN
        kept = [
            w
            for w in re.findall(r"\w+", _NEGATION.sub(" ", note))
            if w.lower() not in INSTRUCTION_WORDS
        ]
        for term in terms(" ".join(kept)):
            weights.setdefault(term, STEER_UP)
    return weights


# Words that frame a question rather than name its subject: "how does X work", "what is the
# difference": an answer rarely repeats them.
FRAME_TERMS = frozenset(
    terms(
        "work works working happen mean means meaning difference differ explain describe "
        "purpose way ways example examples exactly actually"
    )
)
FRAME_WEIGHT = 0.3
# A term every section contains (the corpus's own subject) still names the question's subject.
MIN_IDF = 0.3


def question_weights(question: str, topic: str, idf) -> dict[str, float]:
    """Term weights: the sub-question's own terms count fully, the rest of the topic half,
    question-framing words less."""
    weights: dict[str, float] = {}

    def weight(term: str) -> float:
        raw = idf(term)
        if raw <= 0:
            return 0.0  # a word no section contains; the report says it is not covered
        return max(raw, MIN_IDF) * (FRAME_WEIGHT if term in FRAME_TERMS else 1.0)

    for term in terms(topic):
        weights[term] = 0.5 * weight(term)
    for term in terms(question):
        weights[term] = weight(term)
    return {t: w for t, w in weights.items() if w > 0}


def score_sentence(
    sentence_terms: frozenset[str],
    length: int,
    weights: dict[str, float],
    steer: dict[str, float],
    context: frozenset[str] = frozenset(),
) -> float:
    """`context`: the terms of the sentence's section heading and document title. A sentence
    under "functools.lru_cache" is about lru_cache even when it says "the cache"."""
    total = sum(weights.values()) or 1.0
    share = (
        sum(
            w if t in sentence_terms else CONTEXT_WEIGHT * w if t in context else 0.0
            for t, w in weights.items()
        )
        / total
    )
    if share < MIN_SHARE:
        return 0.0
    bonus = sum(w for t, w in steer.items() if t in sentence_terms)
    # Length damping: beyond about 25 terms a sentence needs proportionally more matches.
    damping = max(1.0, length / 25) ** 0.5
    return max(0.0, share * (1.0 + bonus)) / damping


def select(
    question: str,
    index: int,
    topic: str,
    candidates: Sequence[Candidate],
    idf,
    limit: int,
    steer: dict[str, float] | None = None,
    taken: set[str] | None = None,
) -> list[Evidence]:
    """Up to `limit` sentences answering one sub-question, greedy with diversity."""
    if not candidates:
        return []
    weights = question_weights(question, topic, idf)
    question_terms = frozenset(weights)
    # A sub-question none of whose own words any section contains has no evidence here: the
    # topic's words alone would only repeat what the other sub-questions found.
    own_terms = question_terms & set(terms(question))
    if not own_terms:
        return []
    steer = steer or {}
    candidates = best_documents(candidates)
    best_rank = max(c.rank_score for c in candidates) or 1.0
    pool: list[tuple[float, str, frozenset[str], Section]] = []
    for candidate in candidates:
        # A section's rank matters, but less than what the sentence itself says.
        section_weight = 0.25 + 0.75 * (candidate.rank_score / best_rank) ** 0.7
        section = candidate.section
        context = frozenset(terms(f"{section.heading} {section.doc_title}"))
        heading_bonus = 0.1 if set(terms(section.heading)) & set(weights) else 0.0
        for sentence, sentence_terms, length in prose_sentences(section.text):
            if not own_terms & (sentence_terms | context):
                continue
            score = score_sentence(sentence_terms, length, weights, steer, context)
            if score > 0:
                pool.append(
                    (
                        score * section_weight + heading_bonus,
                        sentence,
                        sentence_terms,
                        candidate.section,
                    )
                )
    pool.sort(key=lambda item: -item[0])
    if pool:  # far weaker than the best sentence is off the point, however diverse
        floor = RELATIVE_FLOOR * pool[0][0]
        pool = [item for item in pool if item[0] >= floor]
    chosen: list[Evidence] = []
    chosen_terms: list[frozenset[str]] = []
    seen = set(taken or ())
    while pool and len(chosen) < limit:
        best_i, best_value = -1, 0.0
        for i, (score, sentence, sentence_terms, section) in enumerate(pool[:200]):
            if _key(sentence) in seen:
                continue
            # Redundancy is judged on what a sentence adds beyond the question's own words.
            own = sentence_terms - question_terms
            redundancy = max((_overlap(own, t) for t in chosen_terms), default=0.0)
            same_section = sum(e.section.id == section.id for e in chosen)
            same_doc = sum(e.section.doc_id == section.doc_id for e in chosen)
            value = score * (
                1
                - REDUNDANCY_WEIGHT * redundancy
                - SAME_SECTION_PENALTY * same_section
                - SAME_DOC_PENALTY * same_doc
            )
            if value > best_value:
                best_i, best_value = i, value
        if best_i < 0:
            break
        score, sentence, sentence_terms, section = pool.pop(best_i)
        seen.add(_key(sentence))
        chosen.append(Evidence(sentence, section, round(score, 4), index))
        chosen_terms.append(sentence_terms - question_terms)
    return chosen


def best_documents(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The sections of the few documents that ranked best (each document by its best section):
    at most MAX_DOCS, and none far below the best."""
    best: dict[str, float] = {}
    for c in candidates:
        best[c.section.doc_id] = max(best.get(c.section.doc_id, 0.0), c.rank_score)
    ranked = sorted(best, key=lambda d: -best[d])
    top = best[ranked[0]] if ranked else 0.0
    keep = {d for d in ranked[:MAX_DOCS] if best[d] >= DOC_FLOOR * top}
    return [c for c in candidates if c.section.doc_id in keep]


def _key(sentence: str) -> str:
    return " ".join(sentence.lower().split())


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))

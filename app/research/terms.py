"""Words as the index sees them: tantivy's English analyzer (simple tokenizer, lowercase, Snowball
stemmer), so a sentence scored in Python and a section ranked by the index agree on what a term
is ("logging" and "logs" are both `log`; "write-ahead" is `write` + `ahead`)."""

from __future__ import annotations

import re
from functools import lru_cache

import tantivy

# The tokenizer tantivy registers as "en_stem" is built the same way.
INDEX_TOKENIZER = "en_stem"
STOPWORDS = frozenset(
    "a about an and any are as at be been being but by can could do does doing for from had has "
    "have how i if in into is it its me my of on or our should so than that the their them then "
    "there these they this those to use used using was we were what when where which while who "
    "why will with would you your".split()
)
_ACRONYM_DEF = re.compile(
    r"\b((?:[A-Za-z][\w]*[\s-]+){1,5}[A-Za-z][\w]*)\s*\(\s*([A-Z][A-Z0-9]{1,6})s?\s*\)"
)
_ACRONYM_REVERSE = re.compile(
    r"\b([A-Z][A-Z0-9]{1,6})\s*\(\s*((?:[A-Za-z]+[\s-]+){1,5}[A-Za-z]+)\s*\)"
)

# What each of those needs somewhere in the text: a cheap search that rules most texts out
# before the expensive ones (they try every word boundary; 60 % of a 50,000-file build).
_DEF_ANCHOR = re.compile(r"\(\s*[A-Z][A-Z0-9]{1,6}s?\s*\)")
_REVERSE_ANCHOR = re.compile(r"[A-Z][A-Z0-9]{1,6}\s*\(")


@lru_cache(maxsize=1)
def analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


@lru_cache(maxsize=65536)
def _stem(word: str) -> tuple[str, ...]:
    return tuple(analyzer().analyze(word))


def terms(text: str) -> list[str]:
    """Stemmed terms without stopwords, in order."""
    out: list[str] = []
    for word in re.findall(r"[A-Za-z0-9]+", text):
        if word.lower() in STOPWORDS:
            continue
        out.extend(_stem(word))
    return out


def acronyms_in(text: str) -> dict[str, str]:
    """Acronyms a text defines, "write-ahead logging (WAL)" or "WAL (write-ahead logging)":
    {"wal": "write ahead logging"}, kept only when the initials match the words."""
    found: dict[str, str] = {}
    # (pattern, its cheap anchor, the acronym's group, the words' group)
    for pattern, anchor, acronym_at, words_at in (
        (_ACRONYM_DEF, _DEF_ANCHOR, 2, 1),
        (_ACRONYM_REVERSE, _REVERSE_ANCHOR, 1, 2),
    ):
        if not anchor.search(text):
            continue
        for match in pattern.finditer(text):
            acronym = match.group(acronym_at)
            expansion = _expansion_for(acronym, re.split(r"[\s-]+", match.group(words_at)))
            if expansion:
                found[acronym.lower()] = expansion
    return found


def _expansion_for(acronym: str, words: list[str]) -> str | None:
    letters = acronym.lower()
    tail = words[-len(letters) :]
    if len(tail) == len(letters) and all(
        w[:1].lower() == c for w, c in zip(tail, letters, strict=True)
    ):
        return " ".join(w.lower() for w in tail)
    return None

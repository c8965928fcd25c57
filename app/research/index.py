"""The section index: tantivy (a Rust search library: BM25 ranking, English stemming, phrase
queries), persisted under HARNESS_HOME/index/<corpus>/ and shared by every run, step, resume and
process that reads the same corpus.

- Built once per corpus content: the manifest records each file's size and mtime, so a later
  open that finds the same fingerprint (in the small head.json) just opens the index (about
  1 ms); when files were added, changed or removed only those are converted and re-indexed
  (deleted by their `file` term and added again), so a large corpus is never rebuilt for one
  edit.
- The folder is listed once per run (app/research/corpus.py `one_listing_per_run`), not once
  per step or fan-out worker; a resumed run opens the index as built without listing it.
- Updates take an exclusive file lock, so concurrent runs and fan-out workers build once and
  the others wait and open the result.
- Conversion of many files runs in a small process pool; markitdown is imported only there.
- JSON sources get the same index in memory.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import tantivy

from app.errors import InputError
from app.research.convert import Unreadable, convert_file
from app.research.corpus import (
    FORMAT_VERSION,
    CorpusListing,
    current_listing,
    doc_ids,
    resolve_folder,
    skipped_line,
    trusts_built_index,
)
from app.research.sections import Section, document_title, split_sections
from app.research.terms import INDEX_TOKENIZER, STOPWORDS, acronyms_in, terms

FIELD_BOOSTS = {"heading": 2.0, "doc_title": 1.5, "body": 1.0}
PAGE_WEIGHT = 1.0  # how much a page's match adds to its sections' (normalised) scores
PAGE_BOOSTS = {"outline": 2.0, "page": 1.0}
PAGE_POOL = 30
TOP_PAGES = 3
CONTEXT_BOOST = 0.3  # a sub-question's topic words, next to its own
SECTION_POOL = 80
WRITER_HEAP_BYTES = 128_000_000
# Indexing threads (tantivy's own, outside the GIL): at 50,000 files indexing is most of a
# cold build's work, and the conversion workers wait on it with one thread.
WRITER_THREADS = max(1, min(4, os.cpu_count() or 1))
POOL_THRESHOLD = 48  # files to convert before a process pool is worth its start-up
_WORD = re.compile(r"[A-Za-z0-9]+")
_JOINED = re.compile(r"[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)+")
_lock = threading.Lock()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("doc_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("file", stored=True, tokenizer_name="raw")
    builder.add_text_field("kind", stored=False, tokenizer_name="raw")
    builder.add_text_field("doc_title", stored=True, tokenizer_name=INDEX_TOKENIZER)
    builder.add_text_field("heading", stored=True, tokenizer_name=INDEX_TOKENIZER)
    builder.add_text_field("body", stored=True, tokenizer_name=INDEX_TOKENIZER)
    # One extra record per document: its title and headings (outline) and its whole text (page).
    # Section queries never search these fields; they rank pages (BM25 with page-level idf), so
    # the page whose subject the question names ("pathlib", "json") lifts its sections above
    # pages whose sections merely share common words (read, write, file).
    # Word frequencies without positions: pages are ranked by single words, never by phrases,
    # and positions for every document's whole text were a seventh of a 50,000-file build.
    for name in ("outline", "page"):
        builder.add_text_field(
            name, stored=False, tokenizer_name=INDEX_TOKENIZER, index_option="freq"
        )
    return builder.build()


@dataclass(frozen=True)
class ReadFile:
    rel: str
    doc_id: str
    title: str
    sections: tuple[Section, ...]
    acronyms: dict[str, str]
    problem: str | None = None


def read_file(root: str, rel: str, doc_id: str) -> ReadFile:
    """Convert and section one file (runs in pool workers too, so it takes plain values)."""
    stem = rel.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    try:
        converted = convert_file(Path(root) / rel)
    except Unreadable as exc:
        return ReadFile(rel, doc_id, stem, (), {}, problem=str(exc))
    if not converted.markdown.strip():
        return ReadFile(rel, doc_id, stem, (), {}, problem="no text")
    title = document_title(converted.markdown, converted.title or stem)
    sections = tuple(split_sections(doc_id, title, converted.markdown))
    if not sections:
        return ReadFile(rel, doc_id, title, (), {}, problem="no text")
    return ReadFile(rel, doc_id, title, sections, acronyms_in(converted.markdown))


def _add(writer: tantivy.IndexWriter, read: ReadFile) -> None:
    if read.sections:
        headings = dict.fromkeys([read.title, *(s.heading for s in read.sections)])
        writer.add_document(
            tantivy.Document(
                id=f"{read.doc_id}#",
                doc_id=read.doc_id,
                file=read.rel,
                kind="outline",
                outline="\n".join(headings),
                page="\n\n".join(s.text for s in read.sections),
            )
        )
    for section in read.sections:
        writer.add_document(
            tantivy.Document(
                id=section.id,
                doc_id=section.doc_id,
                file=read.rel,
                doc_title=section.doc_title,
                heading=section.heading,
                body=section.text,
            )
        )


def _low_weight(context: str) -> str:
    words = [w.lower() for w in _WORD.findall(context) if w.lower() not in STOPWORDS]
    return "".join(f" {w}^{CONTEXT_BOOST}" for w in dict.fromkeys(words))


class SectionIndex:
    """Ranked search over sections, and sections by id."""

    def __init__(self, index: tantivy.Index, acronyms: dict[str, str], note: str = ""):
        self._index = index
        self.acronyms = acronyms
        self.note = note  # what was read and skipped, one line
        self._expansions = {v: k for k, v in acronyms.items()}

    @property
    def num_sections(self) -> int:
        searcher = self._index.searcher()
        # A search count, not doc_freq: doc_freq still counts deleted (re-indexed) records.
        return searcher.num_docs - (searcher.search(self._outlines, 1, count=True).count or 0)

    def idf(self, term: str) -> float:
        searcher = self._index.searcher()
        n = max(searcher.num_docs, 1)
        df = searcher.doc_freq("body", term)
        if not df:
            return 0.0  # no section says it: it cannot tell sentences apart
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def query_text(self, query: str, extra: Iterable[str] = ()) -> str:
        """The tantivy query for a question: its words, hyphenated/dotted names also as phrases,
        and acronyms both ways ("WAL" <-> "write ahead logging"), plus any extra words."""
        parts: list[str] = []
        for word in _WORD.findall(query):
            if word.lower() not in STOPWORDS:
                parts.append(word.lower())
        for joined in _JOINED.findall(query):
            parts.append('"' + " ".join(_WORD.findall(joined.lower())) + '"^1.5')
        lowered = " ".join(_WORD.findall(query.lower()))
        for word in _WORD.findall(query):
            if expansion := self.acronyms.get(word.lower()):
                parts.append(f'"{expansion}"^2')
        query_terms = f" {' '.join(terms(lowered))} "
        for expansion, acronym in self._expansions.items():
            if f" {' '.join(terms(expansion))} " in query_terms:
                parts.append(f"{acronym}^2")
        parts += [w.lower() for w in extra if _WORD.fullmatch(w)]
        return " ".join(parts)

    def search(
        self, query: str, k: int = 8, extra: Iterable[str] = (), context: str = ""
    ) -> list[tuple[Section, float]]:
        """Sections for `query` (plus `extra` words, e.g. a reviewer's feedback); `context` (the
        whole topic, for a sub-question) counts too, at a low weight, so a sub-question that
        says "it" finds its subject without the topic's other parts taking over."""
        extra = tuple(extra)
        text = self.query_text(query, extra) + _low_weight(context)
        if not text.strip():
            return []
        searcher = self._index.searcher()
        sections, _ = self._index.parse_query_lenient(text, list(FIELD_BOOSTS), FIELD_BOOSTS)
        section_hits = searcher.search(sections, SECTION_POOL).hits
        if not section_hits:
            return []
        found = [(_section(searcher.doc(address)), float(score)) for score, address in section_hits]
        pages = self._page_relevance(searcher, [query, *extra], context)
        # The best pages' own best sections, even when other pages' sections filled the pool.
        pooled = {s.id for s, _ in found}
        for doc_id in sorted(pages, key=lambda d: -pages[d])[:TOP_PAGES]:
            within = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, sections),
                    (
                        tantivy.Occur.Must,
                        tantivy.Query.term_query(self._index.schema, "doc_id", doc_id),
                    ),
                ]
            )
            for score, address in searcher.search(within, k).hits:
                section = _section(searcher.doc(address))
                if section.id not in pooled:
                    pooled.add(section.id)
                    found.append((section, float(score)))
        best_section = found[0][1] or 1.0
        ranked = [
            (section, score / best_section + PAGE_WEIGHT * pages.get(section.doc_id, 0.0) ** 2)
            for section, score in found
        ]
        ranked.sort(key=lambda item: -item[1])
        return ranked[:k]

    def _page_relevance(
        self, searcher: tantivy.Searcher, asked: list[str], context: str = ""
    ) -> dict[str, float]:
        """Pages ranked as wholes, scaled to the best one (1.0). Each word is boosted by how few
        pages contain it: which page a question is about is told by its rarest words ("pathlib",
        "json"), not by "read", "write" and "file" that a hundred pages repeat."""
        pages = max(searcher.search(self._outlines, 1, count=True).count or 1, 1)
        boosted: dict[str, float] = {}
        words = [(w, 1.0) for w in _WORD.findall(" ".join(asked))]
        words += [(w, CONTEXT_BOOST) for w in _WORD.findall(context)]
        for word, share in words:
            stems = terms(word)
            if not stems or word.lower() in boosted:
                continue
            df = searcher.doc_freq("page", stems[0])
            boosted[word.lower()] = share * math.log(1 + (pages - df + 0.5) / (df + 0.5))
        text = " ".join(f"{w}^{b:.3f}" for w, b in boosted.items() if b > 0)
        if not text:
            return {}
        query, _ = self._index.parse_query_lenient(text, list(PAGE_BOOSTS), PAGE_BOOSTS)
        hits = searcher.search(query, PAGE_POOL).hits
        if not hits:
            return {}
        best = float(hits[0][0]) or 1.0
        return {searcher.doc(a).get_first("doc_id"): float(score) / best for score, a in hits}

    @property
    def _outlines(self) -> tantivy.Query:
        return tantivy.Query.term_query(self._index.schema, "kind", "outline")

    def sections(self, ids: Sequence[str]) -> dict[str, Section]:
        if not ids:
            return {}
        searcher = self._index.searcher()
        query = tantivy.Query.term_set_query(self._index.schema, "id", list(dict.fromkeys(ids)))
        hits = searcher.search(query, len(ids) + 1).hits
        found = (_section(searcher.doc(address)) for _score, address in hits)
        return {s.id: s for s in found}


def _section(doc: tantivy.Document) -> Section:
    def one(name: str) -> str:
        values = doc.get_all(name)
        return values[0] if values else ""

    return Section(one("id"), one("doc_id"), one("doc_title"), one("heading"), one("body"))


# -- a corpus folder: persisted, updated incrementally -----------------------------------------


def index_dir(home: Path, root: Path) -> Path:
    # os.fsencode: a folder whose name is not UTF-8 (surrogate-escaped here) gets an index too;
    # the index's own folder name is kept to plain characters for the search engine.
    key = hashlib.sha256(os.fsencode(root)).hexdigest()[:16]
    name = re.sub(r"[^\w.-]", "_", os.fsencode(root.name).decode("utf-8", "replace")) or "root"
    return Path(home).expanduser().resolve() / "index" / f"{name}-{key}"


def open_corpus_index(folder: str | Path, home: Path) -> SectionIndex:
    root = resolve_folder(folder)
    if trusts_built_index():
        with _lock:
            built = _open_as_built(index_dir(home, root), root)
        if built is not None:
            return built
    listing = current_listing(root)
    if not listing.files:
        raise InputError(
            f"corpus folder has no .md, .txt, .html, .pdf or .docx files: {root} "
            f"({skipped_line(listing.skipped, len(listing.skipped))})"
        )
    where = index_dir(home, root)
    with _lock:
        return _open_current(where, listing)


# head.json: what a warm open reads (the fingerprint, the note, the acronyms), a few KB;
# manifest.json: every file's signature, read only to bring the index up to date (megabytes at
# 50,000 files: parsing it on every open cost 0.2 s).
HEAD = "head.json"
MANIFEST = "manifest.json"


@lru_cache(maxsize=8)
def _opened(path: str, fingerprint: str) -> SectionIndex:
    head = _read_json(Path(path) / HEAD) or {}
    index = tantivy.Index.open(str(Path(path) / "tantivy"))
    return SectionIndex(index, head.get("acronyms") or {}, head.get("note") or "")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT_VERSION else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def _head(manifest: dict[str, Any]) -> dict[str, Any]:
    acronyms: dict[str, str] = {}
    for entry in manifest["files"].values():
        acronyms.update(entry.get("acronyms") or {})
    keys = ("format", "root", "fingerprint", "note")
    return {**{k: manifest[k] for k in keys}, "acronyms": acronyms}


# index folder -> the fingerprint this process last found it up to date with: a later open of
# the same corpus version reads nothing from disk.
_up_to_date: dict[str, str] = {}


def _open_current(where: Path, listing: CorpusListing) -> SectionIndex:
    fingerprint = listing.fingerprint
    if _up_to_date.get(str(where)) != fingerprint and not _current(where / HEAD, fingerprint):
        where.mkdir(parents=True, exist_ok=True)
        with open(where / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be updating: wait for it
            if not _current(where / HEAD, fingerprint):
                manifest = _read_json(where / MANIFEST)
                if manifest is None or manifest["fingerprint"] != fingerprint:
                    manifest = _update(where, listing, manifest)
                # Written last: a process killed before this line leaves the old head, and
                # the next open finishes the job from the manifest.
                _write_json(where / HEAD, _head(manifest))
    index = _opened(str(where), fingerprint)
    if not index.num_sections:
        raise InputError(f"corpus folder has no readable text: {listing.root} ({index.note})")
    _up_to_date[str(where)] = fingerprint
    return index


def _open_as_built(where: Path, root: Path) -> SectionIndex | None:
    """The index as its last update left it, without listing the folder; None if there is
    none (or it has no sections): then the folder is listed and checked as usual."""
    head = _read_json(where / HEAD)
    if head is None or head.get("root") != str(root):
        return None
    index = _opened(str(where), head["fingerprint"])
    return index if index.num_sections else None


def _current(head: Path, fingerprint: str) -> bool:
    found = _read_json(head)
    return found is not None and found["fingerprint"] == fingerprint


def _update(
    where: Path, listing: CorpusListing, manifest: dict[str, Any] | None
) -> dict[str, Any]:
    ids = doc_ids(listing.files)
    known: dict[str, Any] = (manifest or {}).get("files", {})
    current = {f.rel: f for f in listing.files}
    stale = [
        rel
        for rel, entry in known.items()
        if rel not in current
        or list(current[rel].signature) != entry["signature"]
        or ids[rel] != entry["doc_id"]
    ]
    fresh = [rel for rel in current if rel not in known or rel in stale]
    if manifest is None and (where / "tantivy").exists():
        shutil.rmtree(where / "tantivy")  # written by other code: start over
    (where / "tantivy").mkdir(exist_ok=True)
    index = tantivy.Index(_schema(), path=str(where / "tantivy"), reuse=manifest is not None)
    writer = index.writer(WRITER_HEAP_BYTES, WRITER_THREADS)
    files = {rel: entry for rel, entry in known.items() if rel not in stale}
    for rel in stale:
        writer.delete_documents_by_term("file", rel)
    for read in _read_all(listing.root, [(rel, ids[rel]) for rel in fresh]):
        _add(writer, read)
        files[read.rel] = {
            "signature": list(current[read.rel].signature),
            "doc_id": read.doc_id,
            "problem": read.problem,
            "acronyms": read.acronyms,
        }
    writer.commit()
    writer.wait_merging_threads()
    skipped = list(listing.skipped) + [
        (rel, f"unreadable: {entry['problem']}") for rel, entry in files.items() if entry["problem"]
    ]
    total = len(listing.files) + len(listing.skipped)
    new_manifest = {
        "format": FORMAT_VERSION,
        "root": str(listing.root),
        "fingerprint": listing.fingerprint,
        "files": files,
        "note": skipped_line(sorted(skipped), total),
    }
    _write_json(where / MANIFEST, new_manifest)
    return new_manifest


def _read_all(root: Path, todo: list[tuple[str, str]]) -> Iterable[ReadFile]:
    if len(todo) < POOL_THRESHOLD:
        return (read_file(str(root), rel, doc_id) for rel, doc_id in todo)
    workers = max(1, min(4, os.cpu_count() or 1))
    # spawn, not fork: this may run inside a threaded server process.
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
    results = pool.map(
        read_file, [str(root)] * len(todo), [r for r, _ in todo], [d for _, d in todo], chunksize=32
    )

    def drain() -> Iterable[ReadFile]:
        with pool:
            yield from results

    return drain()


# -- JSON sources: the same index, in memory ---------------------------------------------------


def inline_index(documents: tuple[tuple[str, str, str], ...]) -> SectionIndex:
    """(doc_id, title, text) triples -> an in-memory index; cached by content."""
    return _inline(documents)


@lru_cache(maxsize=16)
def _inline(documents: tuple[tuple[str, str, str], ...]) -> SectionIndex:
    index = tantivy.Index(_schema())
    writer = index.writer(WRITER_HEAP_BYTES, 1)
    acronyms: dict[str, str] = {}
    for doc_id, title, text in documents:
        sections = tuple(split_sections(doc_id, title, text))
        acronyms.update(acronyms_in(text))
        _add(writer, ReadFile(doc_id, doc_id, title, sections, {}))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return SectionIndex(index, acronyms, f"{len(documents)} inline documents")

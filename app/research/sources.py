"""Where a run's material comes from: a corpus folder (ingested into the persisted section
index, app/research/index.py) or a JSON list of {title, content} documents given inline."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from app.config import read_user_file
from app.errors import InputError
from app.research.corpus import current_listing, resolve_folder, skipped_line
from app.research.evidence import Candidate, EvidenceSet
from app.research.index import SectionIndex, inline_index, open_corpus_index
from app.state import SourcesSpec, path_from_state

MAX_SOURCES_FILE_BYTES = 50_000_000


@dataclass(frozen=True)
class Document:
    source_id: str
    title: str
    text: str


def parse_documents(items: object, origin: str) -> tuple[Document, ...]:
    """Validate a JSON list of {"title", "content"} objects."""
    if not isinstance(items, list) or not items:
        raise InputError(f"{origin}: expected a non-empty JSON list of {{title, content}} objects")
    docs = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InputError(f"{origin}: item {i} is not an object with title and content")
        title, content = item.get("title"), item.get("content")
        if not isinstance(title, str) or not title.strip():
            raise InputError(f"{origin}: item {i} needs a non-empty string 'title'")
        if not isinstance(content, str) or not content.strip():
            raise InputError(f"{origin}: item {i} needs a non-empty string 'content'")
        if "\x00" in title or "\x00" in content:
            raise InputError(f"{origin}: item {i} contains a NUL character")
        docs.append(Document(f"doc-{i}", title.strip(), content))
    return tuple(docs)


def read_sources_file(path: str | Path) -> list[dict[str, str]]:
    """Read and validate a sources JSON file; returns the documents for inline state."""
    file = Path(path).expanduser()
    raw = read_user_file(file, "sources file", MAX_SOURCES_FILE_BYTES)
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"sources file {file} is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    parse_documents(items, str(file))
    return [{"title": d["title"], "content": d["content"]} for d in items]


def open_sources(spec: SourcesSpec | None, default_corpus: Path, home: Path) -> SectionIndex:
    """The section index for a run's sources: built once per corpus content, then reused."""
    spec = spec or {}
    if spec.get("kind") == "inline":
        docs = parse_documents(spec.get("documents"), "inline sources")
        return inline_index(tuple((d.source_id, d.title, d.text) for d in docs))
    return open_corpus_index(path_from_state(spec.get("path")) or default_corpus, home)


def check_folder(folder: str | Path) -> Path:
    """Refuse a corpus folder with nothing the harness can read, before a run starts."""
    root = resolve_folder(folder)
    listing = current_listing(root)
    if not listing.files:
        total = len(listing.skipped)
        raise InputError(
            f"corpus folder has no .md, .txt, .html, .pdf or .docx files: {root} "
            f"({skipped_line(listing.skipped, total)})"
        )
    return root


def search_context(question: str, topic: str) -> str:
    """The context a sub-question is searched with: the topic, unless it is the topic."""
    return "" if question == topic else topic


def gather_evidence(
    index: SectionIndex, topic: str, questions: list[str], k: int = 8
) -> EvidenceSet:
    """Search each question and hold its best sections (what a run's search step stores as
    matches, here kept in memory: for tests, benchmarks and notebooks)."""
    groups = []
    for question in questions:
        hits = index.search(question, k, context=search_context(question, topic))
        groups.append(tuple(Candidate(s, score) for s, score in hits))
    return EvidenceSet(tuple(groups), index.idf)

"""Source material: load a folder of .md/.txt files or a JSON list, and rank it with BM25."""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rank_bm25 import BM25Okapi

from app.config import read_user_file
from app.errors import InputError
from app.state import SourcesSpec, path_from_state

TEXT_SUFFIXES = (".md", ".txt")
MAX_DOCUMENT_BYTES = 2_000_000
MAX_SOURCES_FILE_BYTES = 50_000_000
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
STOPWORDS = frozenset(
    "a an and are as at be but by do does for from has have how in is it its of on or that the "
    "their there these this to was were what when where which who why will with".split()
)


def tokenize(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


@dataclass(frozen=True)
class Document:
    source_id: str
    title: str
    text: str


def _title_of(text: str, fallback: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip() or fallback
    return fallback


def _read_text_file(path: Path) -> str | None:
    """Return the file's text, or None when it is empty, too large, binary or not UTF-8.
    The size is checked on the open file before reading: a huge (or sparse) file is skipped
    without being read, and at most MAX_DOCUMENT_BYTES + 1 bytes are ever read."""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size > MAX_DOCUMENT_BYTES:
            return None
        data = handle.read(MAX_DOCUMENT_BYTES + 1)
    if b"\x00" in data or len(data) > MAX_DOCUMENT_BYTES:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.strip() else None


def load_folder(folder: str | Path) -> tuple[Document, ...]:
    path = Path(folder).expanduser()
    if not path.exists():
        raise InputError(f"corpus folder not found: {path}")
    if not path.is_dir():
        raise InputError(f"corpus is not a folder: {path} (use --sources for a JSON file)")
    # Walk the resolved folder, so source ids are relative to the same root whether the user
    # gave a relative path or one that goes through a symlink.
    path = path.resolve()
    files = _text_files(path)
    if not files:
        raise InputError(f"corpus folder has no .md or .txt files: {path}")
    return _load_files(path, tuple(files))


def _text_files(root: Path) -> list[tuple[str, int]]:
    """The .md/.txt files under `root` with their mtimes, in path order, with one stat per file
    and no Path objects: this runs in every search and extract step (bench/profile_hot_path)."""
    found = []
    folders = [str(root)]
    while folders:  # a stack, not recursion: 1,000 nested folders are fine
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):  # symlinked folders are not entered
                    folders.append(entry.path)
                    continue
                if os.path.splitext(entry.name)[1].lower() not in TEXT_SUFFIXES:
                    continue
                info = os.stat(entry.path)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                found.append((entry.path, info.st_mtime_ns))
    return sorted(found, key=lambda item: item[0].split(os.sep))


@lru_cache(maxsize=16)
def _load_files(root: Path, files: tuple[tuple[str, int], ...]) -> tuple[Document, ...]:
    # Keyed on paths and mtimes, so an edited corpus is read again.
    docs = []
    for name, _mtime in files:
        file = Path(name)
        try:
            text = _read_text_file(file)
        except OSError as exc:
            raise InputError(f"cannot read corpus file {file}: {exc.strerror}") from None
        if text is None:
            continue
        source_id = file.relative_to(root).with_suffix("").as_posix()
        docs.append(Document(source_id, _title_of(text, file.stem), text))
    if not docs:
        raise InputError(f"corpus folder has no readable text documents (empty or binary): {root}")
    return tuple(docs)


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


def load_documents(spec: SourcesSpec | None, default_corpus: Path) -> tuple[Document, ...]:
    spec = spec or {}
    if spec.get("kind") == "inline":
        return parse_documents(spec.get("documents"), "inline sources")
    return load_folder(path_from_state(spec.get("path")) or default_corpus)


class SearchIndex:
    """BM25 over whole documents (our documents are short)."""

    def __init__(self, documents: tuple[Document, ...]):
        self.documents = documents
        tokens = [tokenize(d.title + " " + d.text) or ["_"] for d in documents]
        self._vocab = [set(t) for t in tokens]
        self._bm25 = BM25Okapi(tokens)

    def search(self, query: str, k: int = 5) -> list[tuple[Document, float]]:
        terms = tokenize(query)
        if not terms:
            return []
        scores = self._bm25.get_scores(terms)
        wanted = set(terms)
        # BM25 floors the idf of very common terms, so a score alone does not prove a term hit.
        hits = [
            (doc, float(score))
            for doc, score, vocab in zip(self.documents, scores, self._vocab, strict=True)
            if wanted & vocab
        ]
        return sorted(hits, key=lambda p: -p[1])[:k]


@lru_cache(maxsize=16)
def index_for(documents: tuple[Document, ...]) -> SearchIndex:
    return SearchIndex(documents)

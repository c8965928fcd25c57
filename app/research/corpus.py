"""A corpus folder as a list of files: which ones the harness reads, which it skips and why, and
a fingerprint of paths, sizes and mtimes that says when the index must be brought up to date."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from app.errors import InputError
from app.research.convert import SUPPORTED_SUFFIXES

# Bumped when conversion or sectioning changes, so indexes built by older code are rebuilt.
FORMAT_VERSION = "sections-8"
NAMED_PER_REASON = 3
# The current `one_listing_per_run()` scope. Shared by the threads LangGraph runs nodes in (they
# get a copy of the context, and so the same object), so fan-out workers reuse their run's
# listing too.
_scope: ContextVar[_Scope | None] = ContextVar("corpus_scope", default=None)
_listing_lock = threading.Lock()  # workers that start together wait for one listing


@dataclass(frozen=True)
class CorpusFile:
    rel: str  # path relative to the corpus root, with '/' separators
    size: int
    mtime_ns: int

    @property
    def signature(self) -> tuple[int, int]:
        return (self.size, self.mtime_ns)


@dataclass
class CorpusListing:
    root: Path
    files: list[CorpusFile]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (rel path, reason)

    @cached_property
    def fingerprint(self) -> str:
        # Cached: every step that opens the index asks for it, and at 50,000 files hashing
        # the listing took 0.1 s each time (5 times per run). A listing is not changed once
        # made.
        digest = hashlib.sha256(FORMAT_VERSION.encode())
        for f in self.files:
            digest.update(f"{f.rel}\0{f.size}\0{f.mtime_ns}\n".encode())
        return digest.hexdigest()[:32]


def resolve_folder(folder: str | Path) -> Path:
    path = Path(folder).expanduser()
    if not path.exists():
        raise InputError(f"corpus folder not found: {path}")
    if not path.is_dir():
        raise InputError(f"corpus is not a folder: {path} (use --sources for a JSON file)")
    # Resolved, so ids are relative to the same root whether the user gave a relative path or
    # one that goes through a symlink.
    return path.resolve()


@dataclass
class _Scope:
    trust_built_index: bool
    listings: dict[str, CorpusListing] = field(default_factory=dict)


@contextmanager
def one_listing_per_run(trust_built_index: bool = False) -> Iterator[None]:
    """Inside this scope a corpus folder is listed once: later listings of the same folder (by
    the run's other steps, its fan-out workers) reuse the first. A run, a redraft and a single
    step are such scopes, so a run sees one version of its corpus throughout and never walks
    a 50,000-file folder again for each step. Nested scopes share the outermost one.

    trust_built_index: the folder is not listed at all while its index is built (a resumed
    run continues on the index its start checked; a new run or a redraft lists the folder and
    so sees files changed since)."""
    if _scope.get() is not None:
        yield
        return
    token = _scope.set(_Scope(trust_built_index))
    try:
        yield
    finally:
        _scope.reset(token)


def trusts_built_index() -> bool:
    scope = _scope.get()
    return scope is not None and scope.trust_built_index


def current_listing(root: Path) -> CorpusListing:
    """The folder's listing: the one made earlier in this scope, else a fresh one."""
    scope = _scope.get()
    if scope is None:
        return list_corpus(root)
    with _listing_lock:
        if str(root) not in scope.listings:
            scope.listings[str(root)] = list_corpus(root)
        return scope.listings[str(root)]


def list_corpus(root: Path) -> CorpusListing:
    """Every file under root, sorted, split into readable candidates and skipped ones.

    One scandir pass: a directory entry knows whether it is a folder or a link without a system
    call, and paths are joined as strings (at 50,000 files os.walk + relpath took 0.5 s)."""
    listing = CorpusListing(root, [])
    _scan(str(root), "", listing)
    # By path components ("a/b.md" before "a.md"): the same order as comparing split paths,
    # since NUL sorts before every character a name can have, at a quarter of the cost.
    listing.files.sort(key=lambda f: f.rel.replace("/", "\0"))
    return listing


def _scan(folder: str, prefix: str, listing: CorpusListing) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        if not prefix:
            raise InputError(f"cannot read corpus folder {folder}: {exc.strerror}") from None
        listing.skipped.append((prefix, f"unreadable ({exc.strerror})"))
        return
    kept, skipped_folders, skipped_files = [], [], []
    for entry in entries:
        name = entry.name
        rel = prefix + name
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if name.startswith("."):
                skipped_folders.append((f"{rel}/", "hidden folder"))
            elif entry.is_symlink():  # not followed: no loops
                skipped_folders.append((f"{rel}/", "symlinked folder (not followed)"))
            else:
                kept.append(entry)
            continue
        if name.startswith("."):
            skipped_files.append((rel, "hidden file"))
            continue
        stem, dot, ext = name.rpartition(".")
        suffix = (dot + ext).lower() if stem else ""
        if suffix not in SUPPORTED_SUFFIXES:
            skipped_files.append((rel, f"unsupported type {suffix or '(none)'}"))
            continue
        try:
            info = entry.stat()
        except OSError as exc:
            skipped_files.append((rel, f"unreadable ({exc.strerror})"))
            continue
        if not stat.S_ISREG(info.st_mode):
            skipped_files.append((rel, "not a regular file"))
            continue
        listing.files.append(CorpusFile(rel, info.st_size, info.st_mtime_ns))
    # Folders first, then files, as os.walk lists them: the order the skipped line names them.
    listing.skipped += skipped_folders + skipped_files
    for entry in kept:
        _scan(entry.path, f"{prefix}{entry.name}/", listing)


def skipped_line(skipped: list[tuple[str, str]], total: int) -> str:
    """One line naming what was not read, grouped by reason: 'read 12 of 15 files; skipped 3:
    2 unsupported type .png (a.png, b.png), 1 unreadable: PDF conversion failed (c.pdf)'."""
    if not total:
        return "the folder is empty"
    if not skipped:
        return f"read all {total} files"
    by_reason: dict[str, list[str]] = {}
    for rel, reason in skipped:
        by_reason.setdefault(reason, []).append(rel)
    parts = []
    for reason, rels in sorted(by_reason.items(), key=lambda item: -len(item[1])):
        named = ", ".join(rels[:NAMED_PER_REASON])
        more = f" and {len(rels) - NAMED_PER_REASON} more" if len(rels) > NAMED_PER_REASON else ""
        parts.append(f"{len(rels)} {reason} ({named}{more})")
    return f"read {total - len(skipped)} of {total} files; skipped {len(skipped)}: " + "; ".join(
        parts
    )


def doc_ids(files: list[CorpusFile]) -> dict[str, str]:
    """rel path -> document id: the path without its suffix, unless two files share that stem
    (notes.md and notes.pdf), when the suffix stays."""
    stems: dict[str, int] = {}
    for f in files:
        stem = f.rel.rsplit(".", 1)[0]
        stems[stem] = stems.get(stem, 0) + 1
    return {
        f.rel: (f.rel.rsplit(".", 1)[0] if stems[f.rel.rsplit(".", 1)[0]] == 1 else f.rel)
        for f in files
    }

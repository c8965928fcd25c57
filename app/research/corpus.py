"""A corpus folder as a list of files: which ones the harness reads, which it skips and why, and
a fingerprint of paths, sizes and mtimes that says when the index must be brought up to date."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import InputError
from app.research.convert import SUPPORTED_SUFFIXES

# Bumped when conversion or sectioning changes, so indexes built by older code are rebuilt.
FORMAT_VERSION = "sections-7"
NAMED_PER_REASON = 3


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

    @property
    def fingerprint(self) -> str:
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


def list_corpus(root: Path) -> CorpusListing:
    """Every file under root, sorted, split into readable candidates and skipped ones."""
    listing = CorpusListing(root, [])
    for folder, dirs, names in os.walk(root):  # symlinked folders are not entered (no loops)
        kept = []
        for name in sorted(dirs):
            rel = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            if name.startswith("."):
                listing.skipped.append((f"{rel}/", "hidden folder"))
            elif os.path.islink(os.path.join(folder, name)):
                listing.skipped.append((f"{rel}/", "symlinked folder (not followed)"))
            else:
                kept.append(name)
        dirs[:] = kept
        for name in sorted(names):
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if name.startswith("."):
                listing.skipped.append((rel, "hidden file"))
                continue
            suffix = os.path.splitext(name)[1].lower()
            if suffix not in SUPPORTED_SUFFIXES:
                listing.skipped.append((rel, f"unsupported type {suffix or '(none)'}"))
                continue
            try:
                info = os.stat(full)
            except OSError as exc:
                listing.skipped.append((rel, f"unreadable ({exc.strerror})"))
                continue
            if not stat.S_ISREG(info.st_mode):
                listing.skipped.append((rel, "not a regular file"))
                continue
            listing.files.append(CorpusFile(rel, info.st_size, info.st_mtime_ns))
    listing.files.sort(key=lambda f: f.rel.split("/"))
    return listing


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

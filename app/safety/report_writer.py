"""The risky step's side effect: write the approved report atomically, exactly once.

A re-run (resume after a crash, a second resume, a concurrent approver) finds the same bytes
already at the path and records `already_written` instead of writing again. Different bytes at
the path (another branch of the run) never get overwritten: the next free `-N` name is used.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from app.state import FinalReport


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_report_once(target: Path, markdown: str) -> FinalReport:
    data = markdown.encode("utf-8")
    digest = _sha256(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    n = 1
    candidate = target
    while True:
        if candidate.exists():
            if _sha256(candidate.read_bytes()) == digest:
                return _record(candidate, data, digest, already_written=True)
            n += 1
            candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
            continue
        fd, tmp = tempfile.mkstemp(dir=candidate.parent, prefix=".partial-", suffix=".md")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            # link() publishes the complete file atomically and fails if the name exists,
            # so two writers racing for the same name cannot both win.
            os.link(tmp, candidate)
        except FileExistsError:
            continue
        finally:
            os.unlink(tmp)
        return _record(candidate, data, digest, already_written=False)


def _record(path: Path, data: bytes, digest: str, *, already_written: bool) -> FinalReport:
    return {
        "path": str(path),
        "bytes": len(data),
        "sha256": digest,
        "already_written": already_written,
    }

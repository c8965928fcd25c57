"""The risky step's side effect: write the approved report atomically, exactly once.

A re-run (resume after a crash, a second resume, a concurrent approver) finds the same bytes
already at the path and records `already_written` instead of writing again. Different bytes at
the path (another branch of the run) never get overwritten: the next free `-N` name is used.

Every file operation is relative to a directory descriptor opened from the allowed root one
component at a time with O_NOFOLLOW: a folder under the root swapped for a symlink between the
policy check and the write (a race) makes the write fail instead of landing outside the root.
A symlink at the target or a `-N` name is never followed or replaced; the next name is used.

The temporary file is named after the report's hash, so the run that writes the same report
again (a resume after a kill between the write and the clean-up) removes what a killed
process left behind.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

from app.errors import PolicyViolation, WriteDeferred
from app.state import FinalReport, path_for_state

MAX_SUFFIX = 1000  # -2 .. -1000: enough for any real use, and the search always ends
# Errors that can pass (space freed, file system remounted, permissions fixed): the run stays
# resumable at the write instead of failing for good.
TRANSIENT = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM}
)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_dir_below(root: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of root/parts..., creating missing folders, never following a symlink."""
    root.mkdir(parents=True, exist_ok=True)  # the configured root itself is trusted
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts:
            if part in ("", ".", ".."):
                raise PolicyViolation(f"report path component {part!r} is not allowed")
            try:
                os.mkdir(part, 0o755, dir_fd=fd)
            except FileExistsError:
                pass
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise PolicyViolation(
                        f"report folder {part!r} under {root} is a symlink or not a folder"
                    ) from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _same_bytes(name: str, dir_fd: int, digest: str) -> bool | None:
    """True/False for a regular file at `name`; None when the name is free."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symlink (dangling or not): taken, never followed
            return False
        raise
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return False
        hasher = hashlib.sha256()
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
        return hasher.hexdigest() == digest


def _write_temp(name: str, dir_fd: int, data: bytes) -> None:
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644, dir_fd=dir_fd)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _unlink(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


def write_report_once(target: Path, markdown: str, root: Path | None = None) -> FinalReport:
    """Write `markdown` at `target` (or its next free `-N` name) below `root`, which defaults
    to the target's own folder. `target` must be resolved and inside `root`."""
    data = markdown.encode("utf-8", "surrogateescape")
    digest = _sha256(data)
    try:
        root = root or target.parent  # no allowed root given: the target's own folder
        parts = target.parent.relative_to(root).parts
        dir_fd = open_dir_below(root, parts)
    except OSError as exc:
        raise _deferred_or_raise(exc, target) from None
    temp = f".partial-{digest[:24]}.md"
    try:
        n, races = 1, 0
        while n <= MAX_SUFFIX and races < MAX_SUFFIX:
            name = target.name if n == 1 else f"{target.stem}-{n}{target.suffix}"
            same = _same_bytes(name, dir_fd, digest)
            if same:
                _unlink(temp, dir_fd)  # left by a process killed after publishing
                return _record(target.parent / name, data, digest, already_written=True)
            if same is False:
                n += 1
                continue
            _write_temp(temp, dir_fd, data)
            try:
                # link() publishes the complete file atomically and fails if the name exists
                # (even as a dangling symlink), so two writers cannot both win one name.
                os.link(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            except (FileExistsError, FileNotFoundError):
                # The name was taken meanwhile (checked again above), or a concurrent writer
                # of the same bytes removed the shared temp file: look again.
                races += 1
                continue
            finally:
                _unlink(temp, dir_fd)
            return _record(target.parent / name, data, digest, already_written=False)
        raise PolicyViolation(f"no free report name: {target} and -2 .. -{MAX_SUFFIX} are taken")
    except OSError as exc:
        raise _deferred_or_raise(exc, target) from None
    finally:
        os.close(dir_fd)


def _deferred_or_raise(exc: OSError, target: Path) -> Exception:
    if exc.errno in TRANSIENT:
        return WriteDeferred(f"cannot write the report {target}: {exc.strerror}")
    return exc


def _record(path: Path, data: bytes, digest: str, *, already_written: bool) -> FinalReport:
    return {
        "path": path_for_state(path),
        "bytes": len(data),
        "sha256": digest,
        "already_written": already_written,
    }

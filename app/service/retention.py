"""Retention: delete one run, or prune many by age, status or count.

A run lives in four places, all in the store's database: its checkpoints and pending writes
(the LangGraph saver's tables), its registry row and decision claims, and the blobs only it
uses. They are removed together, in an order that keeps a half-done delete repeatable: the
checkpoints first, then the blob refs (and blobs no other run uses), the registry row last, so
a process killed halfway leaves a run that is still listed and `harness delete` finishes it.
Report files are never touched: a written report is the product, not bookkeeping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.errors import InputError
from app.state_base import TERMINAL_STATUSES

if TYPE_CHECKING:
    from app.service.runs import Harness
    from app.service.view import RunView

STATUSES = ("running", "interrupted", "waiting_approval", "completed", "failed", "cancelled")
_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass
class Removal:
    runs: list[dict[str, Any]] = field(default_factory=list)
    blobs: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "runs": self.runs, "blobs_removed": self.blobs}


def parse_age(text: str) -> timedelta:
    match = _AGE.match(text or "")
    if not match:
        raise InputError(f"--older-than must look like 30d, 12h, 90m or 2w, got {text!r}")
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


def parse_statuses(text: str) -> frozenset[str]:
    wanted = frozenset(s.strip() for s in text.split(",") if s.strip())
    unknown = sorted(wanted - set(STATUSES))
    if not wanted or unknown:
        raise InputError(
            f"unknown status {', '.join(unknown) or '(none)'}: choose from {', '.join(STATUSES)}"
        )
    return wanted


def _row(run: RunView) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "status": run.status,
        "created_at": run.created_at,
        "topic": run.topic,
        "report": run.report_path,
    }


def _remove(h: Harness, runs: list[RunView]) -> Removal:
    store = h.store
    for run in runs:
        store.checkpointer.delete_thread(run.run_id)
    blobs = store.blobs.delete_runs([r.run_id for r in runs]) if store.blobs else 0
    for run in runs:
        store.registry.delete_run(run.run_id)
    return Removal(runs=[_row(r) for r in runs], blobs=blobs)


def delete_run(h: Harness, run_id: str | None, *, force: bool = False) -> Removal:
    """Delete one run. A run that is not finished (waiting at the gate, stopped between steps,
    possibly still running in another process) is refused unless `force`."""
    run = h.get(run_id)
    if run.status not in TERMINAL_STATUSES and not force:
        raise InputError(
            f"run {run.run_id} is {run.status}, not finished; add --force to delete it anyway"
        )
    return _remove(h, [run])


def prune(
    h: Harness,
    *,
    older_than: timedelta | None = None,
    statuses: frozenset[str] | None = None,
    keep: int | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> Removal:
    """Delete the runs that match every criterion given: created more than `older_than` ago,
    in one of `statuses` (default: finished ones), beyond the newest `keep` of those."""
    if older_than is None and statuses is None and keep is None:
        raise InputError("prune needs at least one of --older-than, --status or --keep")
    if keep is not None and keep < 0:
        raise InputError("--keep must be zero or more")
    statuses = statuses if statuses is not None else TERMINAL_STATUSES
    cutoff = ((now or datetime.now(UTC)) - older_than).isoformat() if older_than else None
    candidates = []
    for run in h.list(limit=2**62):  # newest first
        if cutoff is not None and (run.created_at or "") >= cutoff:
            continue
        if run.status in statuses:
            candidates.append(run)
    doomed = candidates[keep:] if keep is not None else candidates
    if dry_run:
        return Removal(runs=[_row(r) for r in doomed], dry_run=True)
    return _remove(h, doomed)

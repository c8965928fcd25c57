"""What a caller sees of a run (`RunView`), and how it is made from a stored state.

Kept apart from app/service/runs.py so that commands that only look at runs (`harness list`,
`harness show`) can build views without importing the graph machinery (app/service/reader.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.nodes.binding import draft_sha256, gate_token
from app.state_base import path_from_state
from app.store.registry import RunRecord


@dataclass
class RunView:
    run_id: str
    status: str
    values: dict[str, Any]
    next: tuple[str, ...] = ()
    pending: dict[str, Any] | None = None
    interrupt_id: str | None = None
    topic: str = ""
    mode: str = "linear"
    created_at: str | None = None
    checkpoint_id: str | None = None
    trace: list[dict[str, Any]] = field(default_factory=list)

    @property
    def gate(self) -> str | None:
        """The gate this view shows (`INTERRUPT_ID:DRAFT_SHA256` prefixes): pass it back with a
        decision (`gate=`, `--gate`) and a gate that moved on refuses the decision as stale."""
        if self.pending is None or self.interrupt_id is None:
            return None
        return gate_token(self.interrupt_id, draft_sha256(self.pending.get("draft") or ""))

    @property
    def report_path(self) -> str | None:
        return path_from_state((self.values.get("report") or {}).get("path"))

    def summary(self) -> dict[str, Any]:
        values = self.values
        return {
            "run_id": self.run_id,
            "topic": self.topic or values.get("topic"),
            "mode": self.mode,
            "status": self.status,
            "next": list(self.next),
            "created_at": self.created_at,
            "facts": len(values.get("facts") or []),
            "sources": len({f["source_id"] for f in values.get("facts") or []}),
            "revisions": values.get("revisions", 0),
            "review": values.get("review"),
            "output_path": values.get("output_path"),
            "report": values.get("report"),
            "error": values.get("error"),
            "events": len(self.trace),
        }



def run_view(
    record: RunRecord,
    values: dict[str, Any],
    next_steps: tuple[str, ...],
    unfinished: bool,
    interrupt: tuple[Any, str] | None,
    checkpoint_id: str | None,
) -> RunView:
    """The one place a run's status is derived from its state, whoever read the state."""
    values = dict(values or {})
    pending, interrupt_id = interrupt if interrupt else (None, None)
    if interrupt:
        status = "waiting_approval"
    elif next_steps or unfinished:
        # Stopped between steps (crash, kill, Ctrl-C): steps still to run, or a step whose
        # writes were saved before the next checkpoint was (`next` is then empty while the
        # snapshot still has tasks). Either way `resume` continues it; the stored status is stale.
        status = "interrupted"
    else:
        status = values.get("status") or "running"
    return RunView(
        run_id=record.run_id,
        status=status,
        values=values,
        next=tuple(next_steps),
        pending=pending,
        interrupt_id=interrupt_id,
        topic=record.topic,
        mode=record.mode,
        created_at=record.created_at,
        checkpoint_id=checkpoint_id,
        trace=list(values.get("trace") or []),
    )

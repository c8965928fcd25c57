"""Time travel over a run's checkpoints: list them, replay from one, fork a new run from one.

- `checkpoints(h, run_id)`: every checkpoint of the run's thread (all branches), oldest first,
  with the node that produced it, what runs next and whether it is on the current branch.
- `replay(h, run_id, checkpoint_id)`: LangGraph time travel on the same thread:
  `graph.stream(None, {"configurable": {"thread_id", "checkpoint_id"}})` re-executes the steps
  after that checkpoint as a new branch; the run's current state becomes that branch's head.
- `fork(h, run_id, checkpoint_id, feedback=...)`: a new run (new id, new thread) that starts
  from a copy of that checkpoint's state - `update_state(new_thread, values, as_node=<the node
  that produced the checkpoint>)` - optionally with extra feedback for the drafter, then runs on.
  The original run keeps its state, its history and its report: report files are never
  overwritten (app/report_writer.py takes the next free `-N` name for different bytes).

Steps with side effects stay safe under both: the report write is idempotent per content and
the approval gate of a replayed branch has a new interrupt id, so it needs a new decision.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from langgraph.types import StateSnapshot

from app.errors import InputError, NotWaiting
from app.nodes.tracing import make_event

if TYPE_CHECKING:
    from app.service.runs import EventHandler, Harness, RunView

MAX_FEEDBACK_CHARS = 4000


def _config(run_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    configurable = {"thread_id": run_id}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _cid(snapshot: StateSnapshot | None) -> str | None:
    if snapshot is None or not snapshot.config:
        return None
    return snapshot.config.get("configurable", {}).get("checkpoint_id")


def _parent_cid(snapshot: StateSnapshot) -> str | None:
    return (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id")


def _history(h: Harness, run_id: str | None) -> tuple[RunView, list[StateSnapshot]]:
    run = h.get(run_id)
    graph = h.graph(run.mode)
    snapshots = list(graph.get_state_history(_config(run.run_id)))
    snapshots.reverse()  # oldest first
    return run, snapshots


def _find(run: RunView, snapshots: list[StateSnapshot], checkpoint_id: object) -> StateSnapshot:
    if not isinstance(checkpoint_id, str) or not checkpoint_id.strip():
        raise InputError("give a checkpoint id (see `harness history ID --checkpoints`)")
    wanted = checkpoint_id.strip()
    exact = [s for s in snapshots if _cid(s) == wanted]
    if exact:
        return exact[0]
    matches = [s for s in snapshots if (_cid(s) or "").startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    what = "is ambiguous" if matches else "does not exist"
    raise InputError(
        f"checkpoint {wanted!r} {what} in run {run.run_id} "
        f"(see `harness history {run.run_id[:8]} --checkpoints`)"
    )


def _writer(snapshot: StateSnapshot, by_id: dict[str, StateSnapshot]) -> str | None:
    """The node whose step produced this checkpoint (None for the run's input)."""
    source = (snapshot.metadata or {}).get("source")
    if source == "input":
        return None
    parent_id = _parent_cid(snapshot)
    if source == "update" and parent_id is None:
        # A run started through the Python API: its input, saved as intake's output.
        return "intake"
    parent = by_id.get(parent_id) if parent_id else None
    if parent is None:
        return None
    if source == "fork":
        # Time travel first saves a copy of the checkpoint it replays from, as its child.
        return _writer(parent, by_id)
    names = sorted({t.name for t in parent.tasks})
    if len(names) == 1:
        return names[0]
    return ",".join(names) if names else None


def _label(snapshot: StateSnapshot) -> str:
    source = (snapshot.metadata or {}).get("source")
    return "(copied by fork)" if source == "update" else "(input)"


def checkpoints(h: Harness, run_id: str | None) -> list[dict[str, Any]]:
    """The run's checkpoints, oldest first. `current` marks the branch `show` reports."""
    run, snapshots = _history(h, run_id)
    by_id = {_cid(s): s for s in snapshots}
    on_branch: set[str] = set()
    cursor = by_id.get(run.checkpoint_id)
    while cursor is not None:
        on_branch.add(_cid(cursor) or "")
        cursor = by_id.get(_parent_cid(cursor) or "")
    rows = []
    for s in snapshots:
        cid = _cid(s) or ""
        metadata = s.metadata or {}
        rows.append(
            {
                "checkpoint_id": cid,
                "parent_checkpoint_id": _parent_cid(s),
                "step": metadata.get("step"),
                "source": metadata.get("source"),
                "after": _writer(s, by_id) or _label(s),
                "next": list(s.next),
                "status": (s.values or {}).get("status"),
                "waiting_approval": bool(s.interrupts) and cid == run.checkpoint_id,
                "events": len((s.values or {}).get("trace") or []),
                "created_at": s.created_at,
                "current": cid in on_branch,
                "head": cid == run.checkpoint_id,
            }
        )
    return rows


def replay(
    h: Harness,
    run_id: str | None,
    checkpoint_id: str,
    *,
    on_event: EventHandler | None = None,
) -> RunView:
    """Re-run the steps after `checkpoint_id` on the same run, as a new branch."""
    run, snapshots = _history(h, run_id)
    snapshot = _find(run, snapshots, checkpoint_id)
    if not snapshot.next:
        raise NotWaiting(
            f"checkpoint {_cid(snapshot)} is the end of run {run.run_id}; nothing to replay"
        )
    h.run_graph(run.mode, None, _config(run.run_id, _cid(snapshot)), on_event)
    return h.get(run.run_id)


def _check_feedback(feedback: object) -> str | None:
    if feedback is None:
        return None
    if not isinstance(feedback, str) or not feedback.strip():
        raise InputError("--feedback must be a non-empty text")
    if len(feedback) > MAX_FEEDBACK_CHARS:
        raise InputError(f"--feedback is longer than {MAX_FEEDBACK_CHARS} characters")
    return feedback.strip()


def fork(
    h: Harness,
    run_id: str | None,
    checkpoint_id: str,
    *,
    feedback: str | None = None,
    new_run_id: str | None = None,
    on_event: EventHandler | None = None,
) -> RunView:
    """Start a new run from a copy of `checkpoint_id`'s state; the original is not touched."""
    feedback = _check_feedback(feedback)
    run, snapshots = _history(h, run_id)
    snapshot = _find(run, snapshots, checkpoint_id)
    cid = _cid(snapshot)
    by_id = {_cid(s): s for s in snapshots}
    if not snapshot.next:
        raise NotWaiting(f"checkpoint {cid} is the end of run {run.run_id}; nothing to fork")
    writer = _writer(snapshot, by_id)
    if writer is None:
        # The input checkpoint holds the input only as a pending write, not as state values.
        raise InputError(
            f"checkpoint {cid} is before the first step; fork from a later checkpoint "
            "(or start a new run)"
        )
    if "," in writer:
        raise InputError(
            f"checkpoint {cid} follows parallel steps ({writer}); fork from a later checkpoint"
        )
    values = dict(snapshot.values or {})
    if feedback is not None:
        if values.get("draft") and "draft_report" not in snapshot.next:
            raise InputError(
                f"--feedback needs a checkpoint before draft_report; checkpoint {cid} is "
                f"after it (next: {', '.join(snapshot.next)})"
            )
        values["feedback"] = [*(values.get("feedback") or []), feedback]
    new_id = new_run_id or uuid.uuid4().hex
    if h.store.registry.get_run(new_id) is not None:
        raise InputError(f"run {new_id} already exists")
    event = make_event(
        "run_forked",
        "fork",
        from_run=run.run_id,
        from_checkpoint=cid,
        feedback=feedback,
    )
    values["trace"] = [*(values.get("trace") or []), event]
    if on_event is not None:
        on_event(event)
    graph = h.graph(run.mode)
    graph.update_state(_config(new_id), values, as_node=writer)
    h.store.registry.add_run(new_id, run.topic or values.get("topic") or "", run.mode)
    if h.store.blobs is not None:
        h.store.blobs.copy_refs(run.run_id, new_id)  # the copied state names the same blobs
    # A fork runs under the policy its original was planned with, not this process's.
    h.store.registry.save_policy(new_id, h.run_policy(run.run_id)[0].to_record())
    h.run_graph(run.mode, None, _config(new_id), on_event)
    return h.get(new_id)

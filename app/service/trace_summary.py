"""The roll-up of one run's trace: what happened, how long it took, what it cost.

Everything is read from the run's checkpointed trace (the same events Studio shows and the
custom stream carries), so the CLI, the Python API and Studio see the same numbers:

- counts by event and by step;
- per step: executions (`tool_ok`), attempts (`tool_start`), errors, time spent (`ms` of every
  attempt, failed ones included);
- the approval gate: each wait from `approval_required` to the decision, and a wait still open;
- revisions asked for, resumes (`run_resumed`: from which step, why);
- token usage per role and per step from the model's own answers (`model_usage` events), with
  the cost computed at call time from the price table (`HARNESS_PRICE_TABLE`); a call without
  a price is `unpriced`, never guessed.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, Protocol

TERMINAL_STEP = {"completed": "done", "failed": "failed", "cancelled": "cancelled"}
TOKEN_FIELDS = ("input_tokens", "output_tokens", "total_tokens")


class RunLike(Protocol):
    run_id: str
    status: str
    mode: str
    topic: str
    values: dict[str, Any]
    next: tuple[str, ...]
    pending: dict[str, Any] | None
    trace: list[dict[str, Any]]


def _ts(event: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(event["ts"])
    except (KeyError, TypeError, ValueError):
        return None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 3) if start and end else None


def current_step(run: RunLike) -> str | None:
    """Where the run is: the action waiting for approval, the step it stopped before, or its
    end node (done / failed / cancelled)."""
    if run.pending is not None:
        return run.pending.get("action") or "approval"
    if run.next:
        return run.next[0]
    return TERMINAL_STEP.get(run.status)


def _steps(trace: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    steps: dict[str, dict[str, Any]] = {}
    for event in trace:
        name = event.get("event")
        if name not in ("tool_start", "tool_ok", "tool_error", "policy_refused"):
            continue
        row = steps.setdefault(
            event["step"],
            {"executions": 0, "attempts": 0, "retries": 0, "errors": 0, "duration_ms": 0.0},
        )
        if name == "tool_start":
            row["attempts"] += 1
            row["retries"] += int(event.get("attempt") or 1) > 1
        elif name == "tool_ok":
            row["executions"] += 1
        else:
            row["errors"] += 1
        row["duration_ms"] += float(event.get("ms") or 0)
    for row in steps.values():
        row["duration_ms"] = round(row["duration_ms"], 1)
    return steps


def _gate(trace: list[dict[str, Any]], status: str) -> dict[str, Any]:
    waits: list[dict[str, Any]] = []
    opened: dict[str, Any] | None = None
    for event in trace:
        name = event.get("event")
        if name == "approval_required":
            opened = event
        elif name in ("approval_granted", "approval_rejected") and opened is not None:
            waits.append(
                {
                    "required_at": opened.get("ts"),
                    "decided_at": event.get("ts"),
                    "decision": "approved" if name == "approval_granted" else "rejected",
                    "by": event.get("by"),
                    "wait_s": _seconds(_ts(opened), _ts(event)),
                }
            )
            opened = None
    still_open = opened is not None and status == "waiting_approval"
    waiting_since = opened.get("ts") if still_open else None
    return {
        "decisions": len(waits),
        "waits": waits,
        "total_wait_s": round(sum(w["wait_s"] or 0 for w in waits), 3),
        "waiting_since": waiting_since,
    }


def _add_usage(into: dict[str, Any], event: dict[str, Any]) -> None:
    into["calls"] = into.get("calls", 0) + int(event.get("calls") or 0)
    into["calls_without_usage"] = into.get("calls_without_usage", 0) + int(
        event.get("calls_without_usage") or 0
    )
    for name in TOKEN_FIELDS:
        into[name] = into.get(name, 0) + int(event.get(name) or 0)
    into["unpriced_calls"] = into.get("unpriced_calls", 0) + int(event.get("unpriced_calls") or 0)
    into["cost_usd"] = round(into.get("cost_usd", 0.0) + float(event.get("cost_usd") or 0), 8)
    models = into.setdefault("models", [])
    if event.get("model") and event["model"] not in models:
        models.append(event["model"])


def _priced(row: dict[str, Any]) -> dict[str, Any]:
    """`cost_usd` is None when no call was priced; `cost` says which case it is."""
    if not row.get("calls"):
        return row
    if row["unpriced_calls"] == row["calls"]:
        row["cost_usd"], row["cost"] = None, "unpriced"
    elif row["unpriced_calls"]:
        row["cost"] = "partly unpriced"
    else:
        row["cost"] = "priced"
    return row


def _tokens(trace: list[dict[str, Any]]) -> dict[str, Any]:
    by_role: dict[str, dict[str, Any]] = {}
    by_step: dict[str, dict[str, Any]] = {}
    total: dict[str, Any] = {}
    for event in trace:
        if event.get("event") != "model_usage":
            continue
        _add_usage(by_role.setdefault(event.get("role") or "model", {}), event)
        _add_usage(by_step.setdefault(event["step"], {}), event)
        _add_usage(total, event)
    if not total:
        return {
            "by_role": {}, "by_step": {}, "total": {"calls": 0},
            "cost": "no model calls", "cost_usd": None,
        }
    return {
        "by_role": {k: _priced(v) for k, v in by_role.items()},
        "by_step": {k: _priced(v) for k, v in by_step.items()},
        "total": _priced(total),
        "cost": total["cost"],
        "cost_usd": total["cost_usd"],
    }


def trace_summary(run: RunLike) -> dict[str, Any]:
    trace = run.trace
    by_event = Counter(e.get("event") for e in trace)
    first, last = (trace[0], trace[-1]) if trace else ({}, {})
    resumes = [
        {"at": e.get("ts"), "from_step": e.get("from_step"), "reason": e.get("reason")}
        for e in trace
        if e.get("event") == "run_resumed"
    ]
    failures = [
        {"step": e["step"], "attempt": e.get("attempt"), "error": e.get("error"),
         "will_retry": e.get("will_retry")}
        for e in trace
        if e.get("event") in ("tool_error", "policy_refused")
    ]
    return {
        "run_id": run.run_id,
        "topic": run.topic or run.values.get("topic"),
        "mode": run.mode,
        "status": run.status,
        "current_step": current_step(run),
        "counts": {
            "trace_events": len(trace),
            "by_event": dict(by_event),
            "by_step": dict(Counter(e.get("step") for e in trace)),
        },
        "steps": _steps(trace),
        "timeline": {
            "first_event_at": first.get("ts"),
            "last_event_at": last.get("ts"),
            "wall_s": _seconds(_ts(first), _ts(last)) if trace else None,
            "latest_event": last.get("event"),
        },
        "gate": _gate(trace, run.status),
        "revisions": {
            "requested": by_event.get("revision_requested", 0),
            "feedback": list(run.values.get("feedback") or []),
        },
        "resumes": {"count": len(resumes), "resumes": resumes},
        "tokens": _tokens(trace),
        "failures": failures,
    }

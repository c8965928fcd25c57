"""The run's operational summary (`harness summary`, `Harness.summary`): the short view of a
run plus the figures of its trace roll-up (app/service/trace_summary.py) an operator looks at
first: where it is, how long it took, retries and errors, gate waits, resumes, tokens and cost,
the policy it runs under, and what to do next."""

from __future__ import annotations

from typing import Any

from app.safety.policy import Policy
from app.service.trace_summary import RunLike


def next_commands(run: RunLike) -> list[str]:
    short = run.run_id[:8]
    if run.status == "waiting_approval":
        return [
            f"harness pending {short}",
            f"harness approve {short}",
            f"harness edit {short} --file FILE",
            f"harness reject {short} --feedback TEXT",
        ]
    if run.status == "interrupted":
        return [f"harness resume {short}"]
    return []


def operational_summary(
    run: RunLike, short: dict[str, Any], rollup: dict[str, Any], policy: Policy, stored: bool
) -> dict[str, Any]:
    steps = rollup["steps"].values()
    tokens = rollup["tokens"]
    errors = rollup["failures"]
    return {
        **short,
        "current_step": rollup["current_step"],
        "pending_action": (run.pending or {}).get("action"),
        "updated_at": rollup["timeline"]["last_event_at"],
        "wall_s": rollup["timeline"]["wall_s"],
        "step_time_ms": round(sum(s["duration_ms"] for s in steps), 1),
        "attempts": sum(s["attempts"] for s in steps),
        "retries": sum(s["retries"] for s in steps),
        "tool_errors": len(errors),
        "last_error": errors[-1]["error"] if errors else None,
        "gate_decisions": rollup["gate"]["decisions"],
        "gate_wait_s": rollup["gate"]["total_wait_s"],
        "waiting_since": rollup["gate"]["waiting_since"],
        "resumes": rollup["resumes"]["count"],
        "revisions_requested": rollup["revisions"]["requested"],
        "model_calls": tokens["total"].get("calls", 0),
        "tokens": tokens["total"].get("total_tokens", 0),
        "cost": tokens["cost"],
        "cost_usd": tokens["cost_usd"],
        "policy": {
            "source": policy.source or "default",
            "stored_with_run": stored,
            "allowed_write_roots": [str(r) for r in policy.allowed_write_roots],
            "disabled_tools": sorted(policy.disabled_tools),
        },
        "next_commands": next_commands(run),
    }

"""Wiring shared by every graph: tool nodes with retry policies and metadata, and the common
tail draft_report -> review -> approval -> finalize_report -> done | failed | cancelled."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from app.config import Settings
from app.models.choice import roles_for
from app.nodes.gate import ClaimStore, after_approval
from app.nodes.guard import Opening, StepFn, tool_step
from app.nodes.intake import intake
from app.nodes.steps import HarnessSteps, after_review, after_tool
from app.research.roles import Roles
from app.safety.policy import Policy


def make_steps(
    settings: Settings | None,
    roles: Roles | None,
    blobs: Any = None,
    policy: Policy | None = None,
    claims: ClaimStore | None = None,
) -> HarnessSteps:
    """`blobs`: the store's app.store.blobs.BlobStore, where runs started through the harness
    keep inline documents; None for a graph served without the harness store. `policy`: the
    one stored with the run (app/service/runs.py); else this process's own. `claims`: where
    the gate claims decisions; None: the settings' store, opened on first use."""
    settings = settings or Settings.from_env()
    return HarnessSteps(
        settings, roles or roles_for(settings), policy or Policy.load(settings), blobs, claims
    )


# The labelled edges out of review and the approval gate (label -> next node).
REVIEW_EDGES = {"review_passed": "approval", "review_failed": "failed", "tool_error": "failed"}
APPROVAL_EDGES = {
    "approved": "finalize_report",
    "rejected_with_feedback": "draft_report",
    "rejected": "cancelled",
    "revisions_exhausted": "failed",
}


def add_intake(builder: StateGraph) -> None:
    """START -> intake: every input starts a fresh run (topic from the newest human message)."""
    builder.add_node("intake", intake, metadata={"action_category": "read_only"})
    builder.add_edge(START, "intake")


def retry_policy(settings: Settings) -> RetryPolicy:
    # Every exception a tool step raises is retryable: guard.tool_step raises only before its
    # last attempt and records the failure itself on the last one.
    return RetryPolicy(
        max_attempts=settings.retry_attempts,
        initial_interval=settings.retry_initial_interval,
        backoff_factor=2.0,
        jitter=False,
        retry_on=Exception,
    )


def add_tool_node(
    builder: StateGraph,
    name: str,
    fn: StepFn,
    steps: HarnessSteps,
    category: str,
    *,
    opening: Opening | None = None,
    **meta: object,
) -> None:
    builder.add_node(
        name,
        tool_step(name, fn, steps.policy, steps.settings.retry_attempts, opening=opening),
        retry_policy=retry_policy(steps.settings),
        metadata={"action_category": category, **meta},
    )


def then(builder: StateGraph, step: str, next_step: str) -> None:
    """A tool step goes on to `next_step`, or to `failed` once its retries are spent."""
    builder.add_conditional_edges(step, after_tool, {"tool_ok": next_step, "tool_error": "failed"})


def add_report_tail(builder: StateGraph, steps: HarnessSteps) -> None:
    """Add draft_report .. terminal nodes; the caller connects its own start to draft_report."""
    add_tool_node(builder, "draft_report", steps.draft_report, steps, "model_generation")
    add_tool_node(builder, "review", steps.review, steps, "transform")
    builder.add_node(
        "approval",
        steps.approval,
        metadata={"action_category": "read_only", "approval_gate": True},
    )
    add_tool_node(
        builder,
        "finalize_report",
        steps.finalize_report,
        steps,
        "filesystem_write",
        risky=True,
    )
    for name, fn, status in (
        ("done", steps.done, "completed"),
        ("failed", steps.failed, "failed"),
        ("cancelled", steps.cancelled, "cancelled"),
    ):
        builder.add_node(name, fn, metadata={"terminal_status": status})
        builder.add_edge(name, END)

    then(builder, "draft_report", "review")
    builder.add_conditional_edges("review", after_review, REVIEW_EDGES)
    builder.add_conditional_edges("approval", after_approval, APPROVAL_EDGES)
    then(builder, "finalize_report", "done")

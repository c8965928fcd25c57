"""The approval gate: the interrupt a person answers before the report is written, and
how the answer is applied. The node has no side effects before `interrupt()`: on resume it
re-runs from its start."""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt
from pydantic import ValidationError

from app.config import Settings
from app.nodes.guard import block_for_crash_test, failed_kind
from app.nodes.tracing import emit
from app.state import Decision, HarnessState, now_iso


class ApprovalGate:
    """Mixed into the steps classes: the gate's request, the interrupt, and the decision."""

    settings: Settings

    def approval_request(self, state: HarnessState) -> dict[str, Any]:
        """What a reviewer needs to decide. Pure: the gate re-runs from its start on resume."""
        draft = state.get("draft") or ""
        return {
            "action": "finalize_report",
            "reason": "Writing the report to disk is a risky step and needs a person's approval.",
            "topic": state.get("topic"),
            "output_path": state.get("output_path"),
            # The whole draft: a reviewer editing in Studio starts from exactly this text.
            "draft": draft,
            "draft_chars": len(draft),
            "review": state.get("review"),
            # Model-written facts not found in the section they cite: dropped before the draft.
            "dropped_facts": state.get("dropped_facts") or [],
            "corpus": state.get("corpus_note"),
            "revisions": state.get("revisions", 0),
            "max_revisions": self.settings.max_revisions,
            "allowed_decisions": ["approve", "edit", "reject"],
            "resume_example": {"decision": "approve"},
        }

    def approval(self, state: HarnessState) -> dict[str, Any]:
        request = self.approval_request(state)
        try:
            decision = interrupt(request, response_schema=Decision)
        except ValidationError as exc:
            # An invalid answer is not saved: ask again, saying what was wrong.
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}"
                for e in exc.errors()
            )
            decision = interrupt(
                {**request, "validation_error": problems}, response_schema=Decision
            )
        block_for_crash_test("approval")  # test-only crash hook; a no-op otherwise
        return self.apply_decision(state, decision)

    def apply_decision(self, state: HarnessState, decision: Decision) -> dict[str, Any]:
        feedback = (decision.feedback or "").strip()
        record = {
            "decision": decision.decision,
            "feedback": feedback or None,
            "by": decision.by,
            "at": now_iso(),
        }
        update: dict[str, Any] = {"approval": record, "status": "running"}
        if decision.decision in ("approve", "edit"):
            if decision.decision == "edit":
                update["draft"] = decision.markdown
            update["trace"] = [
                emit(
                    "approval_granted",
                    "approval",
                    edited=decision.decision == "edit",
                    by=decision.by,
                )
            ]
            return update
        update["trace"] = [emit("approval_rejected", "approval", feedback=feedback or None)]
        if not feedback:
            return update
        revisions = state.get("revisions", 0)
        if revisions >= self.settings.max_revisions:
            message = f"rejected after {revisions} revisions (limit {self.settings.max_revisions})"
            update.update(
                status="failed",
                error={"step": "approval", "message": message, "attempts": 1, "kind": "revisions"},
            )
            return update
        update["revisions"] = revisions + 1
        update["feedback"] = [*(state.get("feedback") or []), feedback]
        update["trace"].append(emit("revision_requested", "approval", revision=revisions + 1))
        return update


def after_approval(state: HarnessState) -> str:
    if failed_kind(state):
        return "revisions_exhausted"
    approval = state.get("approval") or {}
    if approval.get("decision") in ("approve", "edit"):
        return "approved"  # an edit is an approval of the edited text
    return "rejected_with_feedback" if approval.get("feedback") else "rejected"

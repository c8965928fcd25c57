"""The approval gate: the interrupt a person answers before the report is written, and how the
answer is applied. The node has no side effects before `interrupt()`: on resume it re-runs from
its start.

Two dialects are accepted (the HITL one is translated in app/nodes/hitl.py):
- native: `{"decision": "approve" | "edit" | "reject", "markdown"?, "feedback"?, "by"?}`
- LangChain v1 HITL: `{"decisions": [{"type": "approve" | "edit" | "reject", ...}]}`

Every answer is bound to the gate it answers. The gate is the interrupt id (new for every
draft: a redraft is a new checkpoint, so a new task and a new interrupt) and the SHA-256 of the
draft. An answer that names another interrupt id or draft hash is stale. An answer that fits is
claimed in the store (app/store/claims.py): exactly one answer per gate takes effect, whichever
process or server delivers it. All of this happens inside the interrupt's `response_schema`
check, so a stale, malformed or losing answer is never saved: the gate keeps waiting with the
same interrupt id and says why in `validation_error`, and the refusal is streamed as a
`decision_refused` event. A resume addressed to a checkpoint the thread has moved past replays
the answer saved there, which lost its claim to nobody but belongs to another delivery: that run
fails with `AnswerRefused` and writes nothing (the thread keeps the winner's state).

"Mark as Resolved" in agent-chat-ui sends `Command(goto="__end__")` with no resume value:
LangGraph runs the gate again, it interrupts again with the same id, and nothing is decided.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, partial
from typing import Any

from langgraph.config import get_config
from langgraph.types import Interrupt, interrupt
from pydantic import RootModel, TypeAdapter, ValidationError, field_validator

from app.config import Settings
from app.errors import AnswerRefused
from app.nodes.binding import Gate, draft_sha256, stale_reason
from app.nodes.conversation import gate_message
from app.nodes.guard import block_for_crash_test, failed_kind
from app.nodes.hitl import BoundHITLResponse, hitl_request, hitl_to_native, is_hitl_answer
from app.nodes.tracing import emit
from app.state import Decision, HarnessState, now_iso
from app.store.claims import claims_for
from app.store.registry import RunRegistry

# The claim store's interface, named for graphs/ (which do not import app/store themselves).
ClaimStore = RunRegistry
def current_gate(draft: str) -> Gate:
    """This gate's interrupt id, as `interrupt()` will name it (its first interrupt in this
    task), and the hash of the draft it shows."""
    namespace = get_config()["configurable"].get("checkpoint_ns", "")
    return Gate(Interrupt.from_ns(None, namespace).id, draft_sha256(draft))


@cache
def answer_schema() -> dict[str, Any]:
    """Both dialects' JSON Schema, built on first use (the model module is heavy to import)."""
    from app.models.chat import inline_refs

    # Inlined: pydantic cannot resolve `$defs` inside a WithJsonSchema, and clients need none.
    return {
        "title": "GateAnswer",
        "description": 'Native {"decision": ...} or LangChain HITL {"decisions": [one]}.',
        "anyOf": [
            inline_refs(Decision.model_json_schema()),
            inline_refs(TypeAdapter(BoundHITLResponse).json_schema()),
        ],
    }


# The check `interrupt(response_schema=GateAnswer)` runs on an answer: the gate being answered
# binds it for the duration of its own `interrupt()` call.
_CHECK: ContextVar[Callable[[Any], Decision]] = ContextVar("gate_answer_check")


class GateAnswer(RootModel[Any]):
    """The interrupt's `response_schema`: LangGraph checks an answer with it before saving it,
    so what it refuses is not consumed, leaves no state, and the gate keeps its id. One type
    for every gate (the gate itself is bound by `checking`): `interrupt()` builds a
    TypeAdapter of it at each pass, which for a model reuses its compiled validator instead of
    building a schema again."""

    root: Any

    @field_validator("root", mode="plain")
    @classmethod
    def _check(cls, value: Any) -> Decision:
        check = _CHECK.get(None)
        if check is None:
            raise ValueError("an answer can only be checked by the gate it answers")
        return check(value)

    @classmethod
    def __get_pydantic_json_schema__(cls, _core_schema: Any, _handler: Any) -> dict[str, Any]:
        return answer_schema()


@contextmanager
def checking(check: Callable[[Any], Decision]) -> Iterator[None]:
    token = _CHECK.set(check)
    try:
        yield
    finally:
        _CHECK.reset(token)


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        (f"{'.'.join(str(p) for p in e['loc'])}: " if e["loc"] else "")
        + str(e["msg"]).removeprefix("Value error, ")
        for e in exc.errors()
    )


def parse_answer(value: Any, gate: Gate | None = None) -> Decision:
    """An answer in either dialect as a native Decision; ValueError says what does not fit."""
    if isinstance(value, Decision):
        value = value.model_dump(exclude_none=True)
    if is_hitl_answer(value):
        native = hitl_to_native(value)
    elif isinstance(value, dict) and "decision" in value:
        native = value
    else:
        raise ValueError(
            'expected {"decision": "approve" | "edit" | "reject", ...} or '
            '{"decisions": [{"type": "approve" | "edit" | "reject", ...}]}'
        )
    try:
        decision = Decision.model_validate(native)
    except ValidationError as exc:
        raise ValueError(_problems(exc)) from None
    stale = stale_reason(decision, gate) if gate is not None else None
    if stale:
        raise ValueError(stale)
    return decision


def _content_token(payload: dict[str, Any]) -> str:
    content = {k: v for k, v in payload.items() if k != "decision_id" and v is not None}
    return "content:" + hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _token(decision: Decision) -> str:
    """Who delivers this answer: its decision_id, else the server run carrying it (a server
    retrying the run keeps it), else the answer's content."""
    if decision.decision_id:
        return decision.decision_id
    run_id = (get_config().get("metadata") or {}).get("run_id")
    if run_id:
        return f"run:{run_id}"
    return _content_token(decision.model_dump(exclude_none=True))


def claim_payload(decision: Decision, token: str) -> dict[str, Any]:
    return {**decision.model_dump(exclude_none=True), "decision_id": token}


class ApprovalGate:
    """Mixed into the steps classes: the gate's request, the interrupt, and the decision."""

    settings: Settings
    claims: RunRegistry | None = None

    def claim_store(self) -> RunRegistry:
        if self.claims is None:
            self.claims = claims_for(self.settings)
        return self.claims

    def approval_request(self, state: HarnessState, gate: Gate | None = None) -> dict[str, Any]:
        """What a reviewer needs to decide. Pure: the gate re-runs from its start on resume."""
        draft = state.get("draft") or ""
        review = state.get("review") or {}
        output_path = state.get("output_path")
        request = {
            "action": "finalize_report",
            "reason": "Writing the report to disk is a risky step and needs a person's approval.",
            "topic": state.get("topic"),
            "output_path": output_path,
            # The whole draft: a reviewer editing in Studio starts from exactly this text.
            "draft": draft,
            "draft_chars": len(draft),
            "draft_sha256": draft_sha256(draft),
            "review": state.get("review"),
            # Model-written facts not found in the section they cite: dropped before the draft.
            "dropped_facts": state.get("dropped_facts") or [],
            "corpus": state.get("corpus_note"),
            "revisions": state.get("revisions", 0),
            "max_revisions": self.settings.max_revisions,
            "allowed_decisions": ["approve", "edit", "reject"],
            "resume_example": {"decision": "approve"},
        }
        if gate is not None:
            request["interrupt_id"] = gate.interrupt_id
        findings = "".join(
            f"\n- {f.get('severity')}: {f.get('message')}" for f in review.get("findings") or []
        )
        description = (
            f"**Write the report** to `{output_path}` ({len(draft):,} characters, "
            f"review {'passed' if review.get('passed') else 'failed'}"
            f" by {review.get('reviewer')}; revision {state.get('revisions', 0)} of at most "
            f"{self.settings.max_revisions}).{findings}\n\n"
            "Approve writes it as shown; edit writes your Markdown instead; reject with a reason "
            "has it redrafted."
        )
        return {**request, **hitl_request(draft, description)}

    def approval(self, state: HarnessState) -> dict[str, Any]:
        gate = current_gate(state.get("draft") or "")
        request = self.approval_request(state, gate)
        with checking(partial(self.accept, gate=gate)):
            try:
                answer = interrupt(request, response_schema=GateAnswer)
            except ValidationError as exc:
                # An answer that does not fit, is stale or lost the claim is not saved: ask
                # again, saying why. The interrupt keeps its id.
                try:
                    answer = interrupt(
                        {**request, "validation_error": _problems(exc)},
                        response_schema=GateAnswer,
                    )
                except ValidationError as again:
                    # Only a replay gets here (a resume addressed to a checkpoint this thread
                    # has moved past): the answer saved there is another delivery's, and so
                    # is the gate.
                    raise AnswerRefused(_problems(again)) from None
        block_for_crash_test("approval")  # test-only crash hook; a no-op otherwise
        return self.apply_decision(state, answer.root)

    def accept(self, value: Any, gate: Gate) -> Decision:
        """Parse and bind the answer, then claim the gate for it: exactly one answer per gate
        takes effect, whichever process or server delivers it."""
        decision = parse_answer(value, gate)
        thread_id = get_config()["configurable"].get("thread_id") or ""
        token = _token(decision)
        store = self.claim_store()
        block_for_crash_test("gate_claim")  # test-only: concurrent answers collide here
        if store.claim_decision(thread_id, gate.interrupt_id, claim_payload(decision, token)):
            return decision
        held = store.claimed_decision(thread_id, gate.interrupt_id) or {}
        held_token = held.get("decision_id") or _content_token(held)
        if held_token == token:
            # The same delivery again (a retried run, `harness resume`): carry out what was
            # claimed, which is what this answer is.
            return Decision.model_validate(held)
        emit(
            "decision_refused",
            "approval",
            interrupt_id=gate.interrupt_id,
            refused=decision.decision,
            decided=held.get("decision"),
            by=decision.by,
        )
        by = f" by {held['by']}" if held.get("by") else ""
        raise ValueError(
            f"already decided: another answer ({held.get('decision')}{by}) claimed this gate "
            f"first; this {decision.decision} was refused and not applied. If that delivery "
            f'stopped before finishing, re-send it with "decision_id": "{held_token}"'
        )

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


def gate_announcement(state: HarnessState) -> dict[str, Any]:
    """The AI message that goes with the gate (added by the review step, before the interrupt,
    so chat clients have a message to show at an interrupted thread)."""
    draft = state.get("draft") or ""
    return gate_message(state.get("output_path"), draft, state.get("revisions", 0))


def after_approval(state: HarnessState) -> str:
    if failed_kind(state):
        return "revisions_exhausted"
    approval = state.get("approval") or {}
    if approval.get("decision") in ("approve", "edit"):
        return "approved"  # an edit is an approval of the edited text
    return "rejected_with_feedback" if approval.get("feedback") else "rejected"

"""The approval gate's second dialect: LangChain v1 human-in-the-loop (`HumanInTheLoopMiddleware`),
as rendered by agent-chat-ui and anything else built on it.

The gate offers one action, the report write, whose only argument is the Markdown: a reviewer
may edit the text, never the output path. This module builds the `HITLRequest` keys added to
the interrupt value and turns a `HITLResponse` (`{"decisions": [one]}`) into the native answer
(`app.state.Decision`). The TypedDicts mirror `langchain.agents.middleware.human_in_the_loop`
(langchain 1.5) key for key; tests/unit/test_hitl_dialect.py checks them against LangChain's own
when it is installed (the `dev` extra).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

ACTION_NAME = "write_report"
ALLOWED_DECISIONS = ["approve", "edit", "reject"]
# Keys a HITL answer may carry next to `decisions`: the gate binding (app.nodes.gate) and who.
BINDING_KEYS = ("interrupt_id", "draft_sha256", "decision_id", "by")

DecisionType = Literal["approve", "edit", "reject", "respond"]


class Action(TypedDict):
    name: str
    args: dict[str, Any]


class ActionRequest(TypedDict):
    name: str
    args: dict[str, Any]
    description: NotRequired[str]


class ReviewConfig(TypedDict):
    action_name: str
    allowed_decisions: list[DecisionType]
    args_schema: NotRequired[dict[str, Any]]


class HITLRequest(TypedDict):
    action_requests: list[ActionRequest]
    review_configs: list[ReviewConfig]


class ApproveDecision(TypedDict):
    type: Literal["approve"]


class EditDecision(TypedDict):
    type: Literal["edit"]
    edited_action: Action


class RejectDecision(TypedDict):
    type: Literal["reject"]
    message: NotRequired[str]


class RespondDecision(TypedDict):
    type: Literal["respond"]
    message: str


HITLDecision = ApproveDecision | EditDecision | RejectDecision | RespondDecision


class HITLResponse(TypedDict):
    decisions: list[HITLDecision]


class BoundHITLResponse(HITLResponse, total=False):
    """What this gate accepts in the HITL dialect: LangChain's response plus optional binding."""

    interrupt_id: str
    draft_sha256: str
    decision_id: str
    by: str


def hitl_request(draft: str, description: str) -> HITLRequest:
    return {
        "action_requests": [
            {"name": ACTION_NAME, "args": {"markdown": draft}, "description": description}
        ],
        "review_configs": [{"action_name": ACTION_NAME, "allowed_decisions": ALLOWED_DECISIONS}],
    }


def is_hitl_answer(value: object) -> bool:
    return isinstance(value, dict) and "decisions" in value


def hitl_to_native(value: dict[str, Any]) -> dict[str, Any]:
    """The native answer for a HITL response; ValueError says what is wrong with it.

    approve -> approve; edit -> edit with `edited_action.args.markdown`; reject -> reject with
    `message` as feedback (redraft), or without one (cancel). `respond` ("answer in place of
    the tool") is not offered here: the review config allows approve, edit and reject only.
    """
    unknown = sorted(set(value) - {"decisions", *BINDING_KEYS})
    if unknown:
        raise ValueError(f"unknown key(s) next to 'decisions': {', '.join(unknown)}")
    decisions = value.get("decisions")
    if not isinstance(decisions, list) or len(decisions) != 1:
        raise ValueError(
            f"'decisions' must be a list with exactly one decision (one action request: "
            f"{ACTION_NAME})"
        )
    [decision] = decisions
    if not isinstance(decision, dict):
        raise ValueError("a decision must be an object with a 'type'")
    kind = decision.get("type")
    native: dict[str, Any] = {k: value[k] for k in BINDING_KEYS if value.get(k) is not None}
    if kind == "approve":
        return {**native, "decision": "approve"}
    if kind == "edit":
        return {**native, "decision": "edit", "markdown": _edited_markdown(decision)}
    if kind == "reject":
        message = decision.get("message")
        if message is not None and not isinstance(message, str):
            raise ValueError("a reject decision's 'message' must be text")
        return {**native, "decision": "reject", "feedback": message}
    if kind == "respond":
        raise ValueError(
            "'respond' is not offered at this gate (allowed: approve, edit, reject); "
            "to stop without writing, reject (the native form without feedback cancels)"
        )
    raise ValueError(f"unknown decision type {kind!r}: use approve, edit or reject")


def _edited_markdown(decision: dict[str, Any]) -> str:
    action = decision.get("edited_action")
    if not isinstance(action, dict) or not isinstance(action.get("args"), dict):
        raise ValueError("an edit needs 'edited_action' with 'args'")
    if action.get("name", ACTION_NAME) != ACTION_NAME:
        raise ValueError(f"an edit can only change {ACTION_NAME}, not {action['name']!r}")
    args = action["args"]
    extra = sorted(set(args) - {"markdown"})
    if extra:
        raise ValueError(f"only 'markdown' can be edited, not: {', '.join(extra)}")
    markdown = args.get("markdown")
    if not isinstance(markdown, str) or not markdown.strip():
        raise ValueError("an edit needs the full report as non-empty 'edited_action.args.markdown'")
    return markdown

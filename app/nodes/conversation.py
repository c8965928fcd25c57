"""The thread as a conversation: what chat clients (agent-chat-ui) render.

They send `{"messages": [human message]}` and show only `values.messages` (the first one is the
thread's title in their lists), so the graph reads the topic from the newest human message and
answers with short AI messages at the gate and at every end.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

from app.models.parsing import answer_text

# Message objects, not dicts: LangGraph's `messages` stream mode shows a node's messages only
# when they are messages.


def message_text(content: Any) -> str:
    """A message's text: content is a string or a list of blocks ({"type": "text", "text"})."""
    return answer_text(content)


def newest_human(messages: Sequence[AnyMessage] | None) -> HumanMessage | None:
    for message in reversed(messages or []):
        if isinstance(message, HumanMessage):
            return message
    return None


def human(text: str) -> HumanMessage:
    return HumanMessage(content=text, id=str(uuid.uuid4()))


def say(text: str) -> AIMessage:
    return AIMessage(content=text, id=str(uuid.uuid4()))


def gate_message(output_path: str | None, draft: str, revisions: int) -> AIMessage:
    again = f" (redraft {revisions})" if revisions else ""
    return say(
        f"The draft{again} is ready for review ({len(draft):,} characters). "
        f"Nothing is written until you decide: approve writes it to `{output_path}`, "
        "edit writes your version, reject with a reason redrafts it."
    )


def written_message(path: str | None, markdown: str) -> AIMessage:
    return say(f"Written to `{path}`.\n\n{markdown}")


def failed_message(step: str, reason: str) -> AIMessage:
    return say(f"The run failed at {step}: {reason}\n\nNothing was written.")


def cancelled_message() -> AIMessage:
    return say("Cancelled: the draft was rejected and nothing was written.")

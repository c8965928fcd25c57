"""The first step of every run: take the input, and start the run fresh.

A thread is a conversation: a new input on a thread whose run finished (or waits at a gate
nobody answered) starts a new run. LangGraph keeps every channel across inputs, so this step
clears what belongs to one run (plan, matches, facts, draft, review, approval, revisions,
feedback, report, error, output path, trace, ...) before `plan` runs.

Which topic: the input's `topic` if this input gave one, else the newest human message (chat
clients send only `messages`). A topic or output path left in state by the previous run is told
apart from a newly given one by `current_run`, where the previous run noted what it used.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import Overwrite

from app.nodes.conversation import human, message_text, newest_human
from app.nodes.tracing import emit
from app.state import HarnessState, now_iso

# Everything one run produces; reset to these values when a run starts.
PER_RUN: dict[str, Any] = {
    "plan": None,
    "matches": None,
    "facts": None,
    "dropped_facts": None,
    "corpus_note": None,
    "draft": None,
    "review": None,
    "approval": None,
    "revisions": 0,
    "feedback": [],
    "report": None,
    "error": None,
}
# Append-only channels: replaced, not appended to.
PER_RUN_LISTS = ("subquestions", "model_issues")


def _given(value: object, previous: object) -> bool:
    """Set in state and not what the previous run left there: this input gave it. A path may
    be bytes (app.state.path_for_state: a file name that is not UTF-8)."""
    if isinstance(value, bytes):
        return bool(value.strip()) and value != previous
    return isinstance(value, str) and bool(value.strip()) and value != previous


def intake(state: HarnessState) -> dict[str, Any]:
    previous = state.get("current_run") or {}
    number = int(previous.get("number") or 0) + 1
    newest = newest_human(state.get("messages"))
    new_message = newest is not None and newest.id != previous.get("message_id")
    message_id = newest.id if new_message else None
    topic = state.get("topic")
    update: dict[str, Any] = {**PER_RUN, **{k: Overwrite([]) for k in PER_RUN_LISTS}}

    if _given(topic, previous.get("topic")) or (topic and not new_message):
        # The input's topic (or, with no new message, the same topic run again).
        source = "topic"
        topic = topic.strip() if isinstance(topic, str) else topic
        if isinstance(topic, str) and topic and not new_message:
            # Chat clients title a thread with its first message: say what was asked.
            asked = human(topic)
            update["messages"] = [asked]
            message_id = asked.id
    elif new_message:
        source = "message"
        topic = message_text(newest.content).strip()
    else:
        source = "topic"  # nothing usable: `plan` refuses it with one clear error

    output_path = state.get("output_path")
    if not _given(output_path, previous.get("output_path")):
        output_path = None  # the previous run's path: this run picks its own
    update.update(
        topic=topic,
        output_path=output_path,
        status="running",
        current_run={
            "number": number,
            "topic": topic,
            "topic_from": source,
            "message_id": message_id or previous.get("message_id"),
            "output_path": output_path,
            "started_at": now_iso(),
        },
        trace=Overwrite([emit("run_started", "intake", run=number, topic_from=source)]),
    )
    return update


def first_checkpoint(given: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A new thread's first checkpoint, as `intake` writes it for the input `given` (topic,
    sources, output path), and the trace events in it. The Python API saves it with
    `update_state(..., as_node="intake")`: the same state the graph reaches by running the
    node, in one checkpoint instead of LangGraph's three (input, __start__, intake)."""
    update = intake(given)  # type: ignore[arg-type]  # the input is a partial state
    trace = update["trace"]
    return {**given, **update}, list(trace.value if isinstance(trace, Overwrite) else trace)

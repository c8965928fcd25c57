"""The one typed state every node reads and updates, plus the records stored in it.

State values are plain dicts/lists so they checkpoint as JSON-like data and render in Studio;
the pydantic models validate what crosses a boundary (resume payloads, model answers). The
records, statuses and markers live in app/state_base.py (free of langchain_core, for the
commands that only read runs) and are re-exported here.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from pydantic import Field

# typing_extensions, not typing: on Python 3.11 pydantic cannot build a JSON schema from
# `typing.TypedDict`, and without one LangGraph Studio gets no input form.
from typing_extensions import TypedDict

from app.state_base import (
    REDUCER_KEYS,
    TERMINAL_STATUSES,
    WRITES_ONLY_KEYS,
    Approval,
    CurrentRun,
    Decision,
    DecisionKind,
    DroppedFact,
    Fact,
    FinalReport,
    Match,
    ModelIssue,
    ReviewResult,
    SourcesSpec,
    Status,
    StepError,
    SubQuestion,
    WorkerInput,
    WritesOnly,
    append_all,
    json_default,
    now_iso,
    path_for_state,
    path_from_state,
)

__all__ = [
    "REDUCER_KEYS",
    "TERMINAL_STATUSES",
    "WRITES_ONLY_KEYS",
    "Approval",
    "CurrentRun",
    "Decision",
    "DecisionKind",
    "DroppedFact",
    "Fact",
    "FinalReport",
    "HarnessInput",
    "HarnessState",
    "Match",
    "ModelIssue",
    "ReviewResult",
    "SourcesSpec",
    "Status",
    "StepError",
    "SubQuestion",
    "WorkerInput",
    "WritesOnly",
    "add_messages",
    "append_all",
    "json_default",
    "now_iso",
    "path_for_state",
    "path_from_state",
]


def add_messages(left: Any, right: Any) -> Any:
    """LangGraph's `add_messages` reducer, imported when a run moves: importing
    langgraph.graph here would load the graph machinery into `harness list` and `show`."""
    from langgraph.graph.message import add_messages as reducer

    return reducer(left, right)


class HarnessInput(TypedDict, total=False):
    """What a caller (CLI, Python, Studio, a chat client) provides to start a run."""

    topic: Annotated[
        str,
        Field(
            description="What the report is about (up to 500 characters). Optional when "
            "`messages` holds a human message: the newest one is then the topic.",
            max_length=500,
        ),
    ]
    # The reducer must stay the last metadata item: LangGraph reads it from there.
    messages: Annotated[
        list[AnyMessage],
        Field(
            description="The conversation (chat clients send the human message here). The "
            "newest human message is the topic when no `topic` is given; the graph adds short "
            "AI messages at the gate and when the run ends."
        ),
        add_messages,
    ]
    sources: Annotated[
        SourcesSpec,
        Field(
            description='The material: {"kind": "corpus", "path": FOLDER} or {"kind": '
            '"inline", "documents": [{"title", "content"}]}. Default: the configured corpus.'
        ),
    ]
    output_path: Annotated[
        str,
        Field(
            description="Where the approved report is written (inside the allowed roots). "
            "Default: a file named after the topic under the reports root."
        ),
    ]


class HarnessState(HarnessInput, total=False):
    current_run: CurrentRun
    plan: list[str]
    matches: Annotated[list[Match], WritesOnly()]
    facts: Annotated[list[Fact], WritesOnly()]
    dropped_facts: Annotated[list[DroppedFact], WritesOnly()]
    corpus_note: str  # what the corpus read and skipped, one line
    draft: Annotated[str, WritesOnly()]
    review: ReviewResult
    approval: Approval
    revisions: int
    feedback: list[str]
    report: FinalReport
    status: Status
    error: StepError | None
    # Fan-out mode: each worker appends its record; the join sorts them by index.
    subquestions: Annotated[list[SubQuestion], operator.add]
    # Model answers the roles could not use; the review step turns them into findings.
    model_issues: Annotated[list[ModelIssue], operator.add]
    # Append-only: every node adds its events; checkpointed with the run (as its writes).
    trace: Annotated[list[dict[str, Any]], WritesOnly(append_all)]

"""The parts of the state (app/state.py) that reading a stored run needs: statuses, the records
kept in the state, how some keys are stored and combined, the decision payload.

Kept free of langchain_core and LangGraph: `harness list` and `show` import this module and not
app/state.py, whose `messages` key is typed with langchain_core's `AnyMessage` (importing it
costs ~0.2 s, and LangGraph's checkpoint modules load more of langchain-core on top).
app/state.py re-exports every name here, so callers see one state module.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, model_validator

# typing_extensions, not typing: on Python 3.11 pydantic cannot build a JSON schema from
# `typing.TypedDict`, and without one LangGraph Studio gets no input form.
from typing_extensions import TypedDict

Status = Literal["running", "waiting_approval", "completed", "failed", "cancelled"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


def append_all(left: list[Any], right: list[Any]) -> list[Any]:
    return [*left, *right]


class WritesOnly:
    """`Annotated` metadata: this key is checkpointed as its writes only, not as a whole value
    in every checkpoint. A run's trace grows by every step and a draft is rewritten by every
    revision; stored in each checkpoint they made a run with 8 revisions 7x one without
    (docs/benchmarks.md, "State size"). The graphs turn the marker into LangGraph's
    `DeltaChannel` (app/nodes/channels.py), which rebuilds the value from the writes saved
    since the last snapshot; the state's readers see the same values as before.

    `reducer(value, update)` combines the updates (None: the last write is the value, as for
    a plain key). Not callable on purpose: node functions annotated `state: HarnessState` make
    LangGraph read this schema too, and a key it sees as plain does not conflict with the
    graph's channel. Kept free of LangGraph imports: `harness list` and `show` read this
    module."""

    __slots__ = ("reducer",)

    def __init__(self, reducer: Any = None):
        self.reducer = reducer

    @staticmethod
    def of(hint: Any) -> WritesOnly | None:
        """The marker in a type hint (`Annotated[..., WritesOnly()]`), or None."""
        metadata = getattr(hint, "__metadata__", ())
        return next((m for m in metadata if isinstance(m, WritesOnly)), None)

    def fold(self, value: Any, updates: list[Any]) -> Any:
        """The value after `updates`, oldest first (the DeltaChannel's batch reducer)."""
        if self.reducer is None:
            return updates[-1] if updates else value
        for update in updates:
            value = self.reducer(value, update)
        return value


def json_default(value: Any) -> Any:
    """`json.dumps(state, default=json_default)`: messages (the only objects in the state)
    become their dicts."""
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else str(value)


def now_iso() -> str:
    """The one timestamp format of state records, trace events and the run registry."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class SourcesSpec(TypedDict, total=False):
    """Where the material comes from: a corpus folder (.md, .txt, .html, .pdf, .docx), or
    documents given inline. Runs started through the harness store keep inline documents by
    reference: `ref` is their digest in the store (app/store/blobs.py), with their count, size
    and first titles."""

    kind: Literal["corpus", "inline"]
    path: str
    documents: list[dict[str, str]]
    ref: str
    count: int
    bytes: int
    titles: list[str]


class Match(TypedDict):
    source_id: str  # the document
    title: str
    score: float
    query: str
    section_id: NotRequired[str]  # `doc_id#section-slug`: what search ranked
    excerpt: NotRequired[str]  # the section's opening words, never the whole text


class Fact(TypedDict):
    id: str
    text: str
    source_id: str
    source_title: str
    section_id: NotRequired[str]  # the section the sentence was found in
    question: NotRequired[int]  # index of the sub-question it answers


class DroppedFact(TypedDict):
    """A model-written fact not found in the section it cites: dropped, shown at the gate."""

    text: str
    section_id: str
    reason: str


class ReviewResult(TypedDict):
    passed: bool
    findings: list[dict[str, str]]
    reviewer: str


class Approval(TypedDict, total=False):
    decision: str
    feedback: str | None
    by: str | None
    at: str


class SubQuestion(TypedDict, total=False):
    """One fan-out worker's result (graphs/research_team.py); joined in question order."""

    index: int
    question: str
    status: Literal["answered", "no_evidence", "failed"]
    matches: list[Match]
    facts: list[Fact]
    dropped_facts: list[DroppedFact]
    error: str | None
    attempts: int


class WorkerInput(TypedDict, total=False):
    """What `Send` hands one fan-out worker: its sub-question and the run's material."""

    topic: str
    sources: SourcesSpec
    index: int
    question: str


class FinalReport(TypedDict):
    path: str
    bytes: int
    sha256: str
    already_written: bool


class ModelIssue(TypedDict):
    """A model answer a role could not use (or only partly): recorded, then a review finding."""

    step: str
    severity: Literal["error", "warning"]
    problem: str
    excerpt: str
    provider: str


class StepError(TypedDict):
    step: str
    message: str
    attempts: int


class CurrentRun(TypedDict, total=False):
    """How this thread's current run began (written by `intake`, the path by `plan`). The next
    input on the thread compares against it to tell a newly given topic or output path from
    one left over by the previous run."""

    number: int
    topic: str
    topic_from: Literal["topic", "message"]
    message_id: str | None
    output_path: str | None
    started_at: str


DecisionKind = Literal["approve", "edit", "reject"]


class Decision(BaseModel):
    """The resume payload of the approval gate: `Command(resume={"decision": "approve"})`."""

    model_config = ConfigDict(extra="forbid")

    decision: DecisionKind = Field(description="approve, edit (replace the draft) or reject")
    markdown: str | None = Field(
        default=None, description="The replacement report; required when decision is 'edit'."
    )
    feedback: str | None = Field(
        default=None,
        description="With 'reject': what to change. The run goes back to drafting; "
        "without feedback the run is cancelled.",
    )
    by: str | None = Field(default=None, description="Who decided (free text).")
    # Binding: the gate this answer is for. A mismatch is refused as stale, never applied to a
    # newer draft the person did not see.
    interrupt_id: str | None = Field(
        default=None, description="The interrupt this answers (refused if the gate moved on)."
    )
    draft_sha256: str | None = Field(
        default=None, description="SHA-256 of the draft reviewed (refused if it changed)."
    )
    decision_id: str | None = Field(
        default=None,
        description="Idempotency key: the same decision_id delivered twice is one decision.",
    )

    @model_validator(mode="after")
    def _edit_needs_markdown(self) -> Decision:
        if self.decision == "edit" and not (self.markdown and self.markdown.strip()):
            raise ValueError("decision 'edit' needs a non-empty 'markdown'")
        return self


def path_for_state(path: str | os.PathLike[str]) -> str | bytes:
    """A file path as kept in state: its text, or its raw bytes when the name holds bytes that
    are not UTF-8 (Python carries them as lone surrogates, which the checkpoint serializer
    would turn into '?', so a resumed run would look for another file)."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


def path_from_state(value: str | bytes | None) -> str | None:
    return os.fsdecode(value) if isinstance(value, bytes) else value


# How HarnessState (app/state.py) stores and combines its keys, for readers that must not load
# it (see the module doc); tests/unit/test_state_base.py checks these against its type hints.
# Keys stored as their writes only: their type (an empty value of it stands for Overwrite(None))
# and their marker.
WRITES_ONLY_KEYS: dict[str, tuple[type, WritesOnly]] = {
    "matches": (list, WritesOnly()),
    "facts": (list, WritesOnly()),
    "dropped_facts": (list, WritesOnly()),
    "draft": (str, WritesOnly()),
    "trace": (list, WritesOnly(append_all)),
}
# Keys with a reducer: LangGraph shows them as an empty value of their type before any write.
REDUCER_KEYS: dict[str, type] = {
    "messages": list,
    "subquestions": list,
    "model_issues": list,
    "trace": list,
}

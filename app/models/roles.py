"""Model-backed roles: the same four jobs as the offline roles, answered by a chat model.

Each role asks `ModelCaller` for a small pydantic-shaped answer (bounded: few items, short
strings, so a small local model cannot pad forever), keeps what is grounded and usable, and falls
back to a safe value when the answer cannot be used, reporting why (app/models/issues.py). Model
and network errors are raised for the node's RetryPolicy. The Markdown report is rendered by
`render_report`, so its shape (title, Key Findings with citations, Sources) never depends on the
model. Fact extraction is fed the best sections the index found for the sub-questions (their
most relevant sentences), and each fact it returns is checked against its section by the step.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.models.chat import ModelCaller, request_schema
from app.models.issues import report_issue
from app.research.drafting import not_covered
from app.research.evidence import EvidenceSet, prose_sentences, question_weights
from app.research.facts import number_facts
from app.research.planner import split_questions
from app.research.report_format import render_report
from app.research.review import review_result, rule_findings
from app.research.roles import Roles
from app.research.terms import terms
from app.state import Fact, ReviewResult

MAX_QUESTIONS = 4
MAX_FACTS = 6
MAX_FACT_CHARS = 240
MAX_SECTIONS = 6
MAX_SECTION_CHARS = 700
MAX_FINDINGS = 4
MAX_DRAFT_CHARS_IN_PROMPT = 3000


def _clean_text(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        text = " ".join(value.split())
        return text[:limit].rstrip()
    return value


def _cap(items: Any, limit: int) -> Any:
    return items[:limit] if isinstance(items, list) else items


def _valid_items(items: Any, model: type[BaseModel], limit: int) -> Any:
    """The well-formed items of a list, at most `limit`: a small model often ends a list with a
    broken one, which should not cost the good ones."""
    if not isinstance(items, list):
        return items
    usable = []
    for item in items:
        try:
            usable.append(model.model_validate(item))
        except ValueError:
            continue
    return usable[:limit]


# -- answer schemas (what the model is asked for; bounded on the wire, truncated on receipt) ----


class PlanAnswer(BaseModel):
    model_config = ConfigDict(title="Plan")

    questions: list[Annotated[str, StringConstraints(min_length=5, max_length=160)]] = Field(
        min_length=1,
        max_length=MAX_QUESTIONS,
        description="Short search questions that together cover the topic.",
    )

    @field_validator("questions", mode="before")
    @classmethod
    def _bound(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        cleaned = [_clean_text(q, 160) for q in value if isinstance(q, str)]
        unique = list(dict.fromkeys(q for q in cleaned if len(q) >= 5))
        return unique[:MAX_QUESTIONS]


class FactItem(BaseModel):
    source_id: str = Field(description="The id of the source the fact comes from.")
    text: Annotated[str, StringConstraints(min_length=20, max_length=MAX_FACT_CHARS)] = Field(
        description="One sentence stating the fact, taken from that source."
    )

    @field_validator("text", "source_id", mode="before")
    @classmethod
    def _trim(cls, value: Any) -> Any:
        return _clean_text(value, MAX_FACT_CHARS)


class FactsAnswer(BaseModel):
    model_config = ConfigDict(title="Facts")

    facts: list[FactItem] = Field(max_length=MAX_FACTS)

    @field_validator("facts", mode="before")
    @classmethod
    def _bound(cls, value: Any) -> Any:
        return _valid_items(value, FactItem, MAX_FACTS)


class DraftAnswer(BaseModel):
    model_config = ConfigDict(title="Draft")

    summary: Annotated[str, StringConstraints(min_length=20, max_length=600)] = Field(
        description="Two or three sentences summarising what the facts say about the topic."
    )
    fact_ids: list[str] = Field(
        default_factory=list,
        max_length=12,
        description="The ids of the facts to list as key findings, most important first.",
    )

    @field_validator("summary", mode="before")
    @classmethod
    def _trim(cls, value: Any) -> Any:
        return _clean_text(value, 600)

    @field_validator("fact_ids", mode="before")
    @classmethod
    def _bound(cls, value: Any) -> Any:
        return _cap(value, 12)


class FindingItem(BaseModel):
    severity: Literal["error", "warning"]
    message: Annotated[str, StringConstraints(min_length=3, max_length=200)]

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: Any) -> Any:
        text = str(value).strip().lower()
        return "error" if text in ("error", "critical", "major", "high", "fail") else "warning"

    @field_validator("message", mode="before")
    @classmethod
    def _trim(cls, value: Any) -> Any:
        return _clean_text(value, 200)


class ReviewAnswer(BaseModel):
    model_config = ConfigDict(title="Review")

    passed: bool = Field(description="true if the report is accurate, cited and on topic.")
    findings: list[FindingItem] = Field(default_factory=list, max_length=MAX_FINDINGS)

    @field_validator("findings", mode="before")
    @classmethod
    def _bound(cls, value: Any) -> Any:
        return _valid_items(value, FindingItem, MAX_FINDINGS)


def _with_enum(schema: dict[str, Any], path: tuple[str, ...], values: list[str]) -> dict[str, Any]:
    """Constrain a string field of the wire schema to the given values (grammar-friendly)."""
    node = schema
    for key in path:
        node = node[key]
    node["enum"] = values
    return schema


# -- roles ------------------------------------------------------------------------------------


class _ModelRole:
    step = "model"
    role = "model"  # the name in Roles.providers() and in the recorded token usage

    def __init__(self, caller: ModelCaller):
        self.caller = caller

    def ask(self, prompt: str, schema: type[BaseModel], **kw: Any) -> Any:
        return self.caller.ask(prompt, schema, role=self.role, **kw)

    @property
    def provider(self) -> str:
        return self.caller.provider

    def _issue(self, problem: str, answer: str | None, severity: str = "error") -> None:
        report_issue(self.step, problem, answer, severity=severity, provider=self.provider)


class ModelPlanner(_ModelRole):
    role = "planner"
    step = "plan"

    def plan(self, topic: str) -> list[str]:
        own = split_questions(topic)
        answer = self.ask(
            f"You plan a short research report that answers: {topic.strip()}\n"
            f"Write up to {MAX_QUESTIONS} short search questions, each about one part of what "
            "is asked. Do not add general angles the question does not ask about.",
            PlanAnswer,
        )
        if answer.value is None:
            self._issue(f"no usable plan: {answer.problem}", answer.raw)
            return own
        # The topic's own questions are always answered; the model's add detail.
        questions = [*own, *answer.value.questions]
        return list(dict.fromkeys(q for q in questions if q))[: MAX_QUESTIONS + 1]


def _best_passage(text: str, weights: dict[str, float], limit: int) -> str:
    """A section's most relevant prose sentences (in document order), up to `limit` chars:
    the model sees what answers the question, not the head of a document."""
    sentences = prose_sentences(text)
    ranked = sorted(
        range(len(sentences)),
        key=lambda i: -sum(w for t, w in weights.items() if t in sentences[i][1]),
    )
    keep: list[int] = []
    used = 0
    for i in ranked:
        if used + len(sentences[i][0]) > limit and keep:
            continue
        keep.append(i)
        used += len(sentences[i][0]) + 1
    return " ".join(sentences[i][0] for i in sorted(keep))


class ModelFactExtractor(_ModelRole):
    role = "facts"
    step = "extract_facts"

    def extract(self, topic: str, questions: list[str], evidence: EvidenceSet) -> list[Fact]:
        sections = evidence.ranked_sections()[:MAX_SECTIONS]
        if not sections:
            return []
        by_id = {s.id: s for s in sections}
        weights = question_weights(" ".join(questions), topic, evidence.idf)
        passages = {s.id: _best_passage(s.text, weights, MAX_SECTION_CHARS) for s in sections}
        shown = "\n\n".join(
            f"[source_id: {s.id}] {s.title}\n{passages[s.id]}" for s in sections if passages[s.id]
        )
        wire = _with_enum(
            request_schema(FactsAnswer),
            ("properties", "facts", "items", "properties", "source_id"),
            list(by_id),
        )
        steer = "".join(f"\n- {note}" for note in evidence.feedback)
        answer = self.ask(
            f"Topic: {topic}\nQuestions:\n"
            + "\n".join(f"- {q}" for q in questions[: MAX_QUESTIONS + 1])
            + (f"\nA reviewer asked for:{steer}" if steer else "")
            + f"\n\nSources:\n{shown}\n\n"
            f"List up to {MAX_FACTS} facts that answer the questions. Copy each fact as one "
            "sentence exactly as it appears in a source, with that source's source_id.",
            FactsAnswer,
            wire_schema=wire,
        )
        if answer.value is None:
            self._issue(f"no usable facts: {answer.problem}", answer.raw)
            return []
        facts: list[Fact] = []
        seen: set[str] = set()
        for item in answer.value.facts:
            section = by_id.get(item.source_id)
            if section is None:
                # Grounding: a fact must cite a source that was actually given to the model.
                self._issue(
                    f"dropped a fact citing unknown source {item.source_id!r}: {item.text[:80]}",
                    answer.raw,
                    severity="warning",
                )
                continue
            key = item.text.lower()
            if key in seen:
                continue
            seen.add(key)
            facts.append(
                {
                    "id": "",
                    "text": item.text,
                    "source_id": section.doc_id,
                    "source_title": section.title,
                    "section_id": section.id,
                    "question": evidence.first_index + _closest(item.text, questions),
                }
            )
        return number_facts(facts)


def _closest(text: str, questions: list[str]) -> int:
    said = set(terms(text))
    overlaps = [len(said & set(terms(q))) for q in questions]
    return max(range(len(questions)), key=lambda i: overlaps[i]) if questions else 0


class ModelDrafter(_ModelRole):
    role = "drafter"
    step = "draft_report"

    def draft(
        self, topic: str, facts: list[Fact], feedback: list[str], questions: list[str] | None = None
    ) -> str:
        def render(chosen: list[Fact], answer: str | None = None) -> str:
            gaps = not_covered(topic, chosen)
            return render_report(topic, chosen, feedback, answer, questions, gaps)

        if not facts:
            return render(facts)
        listed = "\n".join(f"{f['id']}: {f['text']} (source: {f['source_title']})" for f in facts)
        notes = "".join(f"\n- {note}" for note in feedback)
        wire = _with_enum(
            request_schema(DraftAnswer),
            ("properties", "fact_ids", "items"),
            [f["id"] for f in facts],
        )
        answer = self.ask(
            f"Write the summary of a short research report on: {topic}\n"
            f"Facts:\n{listed}\n"
            + (f"\nA reviewer asked for these changes:{notes}\n" if feedback else "")
            + "\nGive a summary of two or three sentences that uses only these facts, and the "
            "ids of the facts to list as key findings, most important first.",
            DraftAnswer,
            wire_schema=wire,
        )
        if answer.value is None:
            self._issue(f"no usable draft: {answer.problem}", answer.raw)
            return render(facts)
        by_id = {f["id"]: f for f in facts}
        chosen = [by_id[i] for i in dict.fromkeys(answer.value.fact_ids) if i in by_id]
        if len(chosen) < min(2, len(facts)):
            chosen = facts  # too few picked: list every fact rather than drop evidence
        return render(chosen, answer.value.summary)


class ModelReviewer(_ModelRole):
    role = "reviewer"
    step = "review"

    def review(self, topic: str, draft: str, facts: list[Fact]) -> ReviewResult:
        findings = rule_findings(draft, facts)
        reviewer = f"rules+{self.provider}"
        if not draft.strip():
            return review_result(findings, reviewer)
        shown = draft[:MAX_DRAFT_CHARS_IN_PROMPT]
        answer = self.ask(
            f"Review this research report on: {topic}\n\n{shown}\n\n"
            "Is every key finding supported by a cited source and on topic? Set passed to true "
            f"if it is fine. List at most {MAX_FINDINGS} findings; use severity error only for "
            "a real problem such as an unsupported or off-topic claim.",
            ReviewAnswer,
        )
        if answer.value is None:
            self._issue(f"no usable review: {answer.problem}", answer.raw)
            return review_result(findings, reviewer)
        model_findings = [
            {"severity": f.severity, "message": f"model reviewer: {f.message}"}
            for f in answer.value.findings
        ]
        said_error = any(f.severity == "error" for f in answer.value.findings)
        if not answer.value.passed and not said_error:
            model_findings.append(
                {"severity": "error", "message": "model reviewer: did not pass the draft"}
            )
        return review_result(findings + model_findings, reviewer)


def model_roles(caller: ModelCaller) -> Roles:
    planner, facts = ModelPlanner(caller), ModelFactExtractor(caller)
    return Roles(planner, facts, ModelDrafter(caller), ModelReviewer(caller))

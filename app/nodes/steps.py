"""What each step of a run does, as `state -> update` functions. Graph wiring lives in graphs/.

Tool steps are wrapped by `app.nodes.guard.tool_step` (trace, retries, failure recording); the
approval gate and the terminal steps are plain nodes.
"""

from __future__ import annotations

import uuid
from typing import Any

from langgraph.runtime import Runtime

from app.config import Settings
from app.errors import InputError, PolicyViolation
from app.models.issues import collect_issues, issue_findings
from app.nodes.conversation import cancelled_message, failed_message, written_message
from app.nodes.gate import ApprovalGate, gate_announcement
from app.nodes.guard import block_for_crash_test, failed_kind
from app.nodes.tracing import emit
from app.research.evidence import Candidate, EvidenceSet, feedback_words
from app.research.facts import number_facts
from app.research.grounding import ground_facts
from app.research.index import SectionIndex
from app.research.report_format import parse_report
from app.research.review import grounding_findings, is_thin, review_result
from app.research.roles import Roles
from app.research.sources import open_sources, search_context
from app.safety.policy import Policy
from app.safety.report_writer import write_report_once
from app.state import HarnessState, Match, ModelIssue, path_for_state, path_from_state
from app.store.blobs import BlobStore, resolve_sources
from app.store.registry import RunRegistry

SEARCH_RESULTS_PER_QUESTION = 15
EXCERPT_CHARS = 160
MAX_TOPIC_CHARS = 500


def validate_topic(topic: object) -> str:
    if not isinstance(topic, str) or not topic.strip():
        raise InputError("topic must be a non-empty string")
    if len(topic) > MAX_TOPIC_CHARS:
        raise InputError(f"topic is longer than {MAX_TOPIC_CHARS} characters")
    try:
        topic.encode("utf-8")  # undecodable bytes from the command line arrive as surrogates
    except UnicodeEncodeError:
        raise InputError("topic is not valid UTF-8 text") from None
    if "\x00" in topic:
        raise InputError("topic contains a NUL character")
    return topic.strip()


def with_issues(update: dict[str, Any], step: str, issues: list[ModelIssue]) -> dict[str, Any]:
    """Record the model answers a role could not use: in state and as trace events."""
    if issues:
        update["model_issues"] = issues
        update["trace"] = [
            *update.get("trace", []),
            *(
                emit(
                    "model_answer_problem",
                    step,
                    severity=i["severity"],
                    problem=i["problem"],
                    excerpt=i["excerpt"],
                    provider=i["provider"],
                )
                for i in issues
            ),
        ]
    return update


def _run_id(runtime: Runtime) -> str:
    info = runtime.execution_info
    return (info.thread_id if info and info.thread_id else None) or uuid.uuid4().hex


class HarnessSteps(ApprovalGate):
    def __init__(
        self,
        settings: Settings,
        roles: Roles,
        policy: Policy,
        blobs: BlobStore | None = None,
        claims: RunRegistry | None = None,
    ):
        self.settings = settings
        self.roles = roles
        self.policy = policy
        self.blobs = blobs  # where runs started through the harness keep inline documents
        # Where the gate claims decisions; None: the settings' store, opened on first use.
        self.claims = claims

    def opening(self, mode: str):
        """The first event of every run: what was asked, in which mode, by which roles, and
        under which policy (the plan step's opening, app/nodes/guard.py)."""

        def run_created(state: HarnessState, runtime: Runtime) -> list[dict[str, Any]]:
            record = self.policy.to_record()
            policy = {k: record[k] for k in ("source", "allowed_write_roots", "disabled_tools")}
            return [
                emit(
                    "run_created",
                    "plan",
                    topic=state.get("topic"),
                    mode=mode,
                    roles=self.roles.providers(),
                    policy=policy,
                )
            ]

        return run_created

    # -- tool steps (wrapped by guard.tool_step) ---------------------------------------------

    def plan(self, state: HarnessState, runtime: Runtime) -> dict[str, Any]:
        topic = validate_topic(state.get("topic"))
        requested = path_from_state(state.get("output_path"))
        target = requested or self.policy.default_report_path(topic, _run_id(runtime))
        # Refuse a bad output path now, long before anything could be written.
        output_path = path_for_state(self.policy.check_write(target))
        with collect_issues() as issues:
            questions = self.roles.planner.plan(topic)
        update = {
            "topic": topic,
            "plan": questions,
            "output_path": output_path,
            # Noted so the next input on this thread can tell this path from a newly given one.
            "current_run": {**(state.get("current_run") or {}), "output_path": output_path},
            "status": "running",
            "error": None,
            "trace": [
                emit("plan_ready", "plan", questions=questions, roles=self.roles.providers())
            ],
        }
        return with_issues(update, "plan", issues)

    def index(self, state: HarnessState) -> SectionIndex:
        """The run's section index: opened from HARNESS_HOME (built once per corpus content);
        inline documents kept by reference are read back from the store first."""
        sources = resolve_sources(self.blobs, state.get("sources"))
        return open_sources(sources, self.settings.corpus, self.settings.home)

    def search(self, state: HarnessState, runtime: Runtime) -> dict[str, Any]:
        index = self.index(state)
        matches = self.search_questions(state, state.get("plan") or [state["topic"]])
        event = emit("corpus_indexed", "search", sections=index.num_sections, note=index.note)
        return {"matches": matches, "corpus_note": index.note, "trace": [event]}

    def search_questions(
        self, state: HarnessState, questions: list[str], extra: tuple[str, ...] = ()
    ) -> list[Match]:
        """The best sections for each question (one match per question and section), with ids
        and short excerpts only: the checkpoint never holds whole documents."""
        index = self.index(state)
        matches: list[Match] = []
        for question in questions:
            context = search_context(question, state["topic"])
            hits = index.search(question, SEARCH_RESULTS_PER_QUESTION, extra, context)
            for section, score in hits:
                matches.append(
                    {
                        "source_id": section.doc_id,
                        "title": section.title,
                        "score": round(score, 4),
                        "query": question,
                        "section_id": section.id,
                        "excerpt": " ".join(section.text.split())[:EXCERPT_CHARS],
                    }
                )
        return matches

    def extract_facts(self, state: HarnessState, runtime: Runtime) -> dict[str, Any]:
        questions = state.get("plan") or [state["topic"]]
        with collect_issues() as issues:
            facts, dropped = self.facts_for(state, questions, state.get("matches") or [])
        update = {"facts": number_facts(facts), "dropped_facts": dropped}
        if dropped:
            update["trace"] = [emit("facts_dropped", "extract_facts", dropped=dropped)]
        return with_issues(update, "extract_facts", issues)

    def facts_for(
        self,
        state: HarnessState,
        questions: list[str],
        matches: list[Match],
        first_index: int = 0,
        feedback: tuple[str, ...] = (),
    ) -> tuple[list, list]:
        """Facts for the questions from the sections their search matched, each checked against
        the section it cites: those not found there are dropped (and returned, for the gate)."""
        index = self.index(state)
        sections = index.sections([m.get("section_id") or "" for m in matches])
        candidates = tuple(
            tuple(
                Candidate(sections[m["section_id"]], m["score"])
                for m in matches
                if m["query"] == question and m.get("section_id") in sections
            )
            for question in questions
        )
        evidence = EvidenceSet(candidates, index.idf, first_index, feedback)
        facts = self.roles.facts.extract(state["topic"], questions, evidence)
        return ground_facts(facts, evidence.sections())

    def draft_report(self, state: HarnessState, runtime: Runtime) -> dict[str, Any]:
        feedback = state.get("feedback") or []
        questions = state.get("plan") or [state["topic"]]
        update: dict[str, Any] = {"review": None, "approval": None}
        facts = state.get("facts") or []
        with collect_issues() as issues:
            if feedback:
                # Feedback changes the content: it steers which sections are searched and
                # which sentences are chosen, not only a note at the end.
                steer = feedback_words(feedback)
                kept = self.redraft_questions(state, questions)
                asked = [questions[i] for i in kept]
                matches = self.search_questions(state, asked, steer)
                facts, dropped = self.facts_for(state, asked, matches, 0, tuple(feedback))
                facts = [{**f, "question": kept[f.get("question", 0)]} for f in facts]
                update.update(facts=number_facts(facts), matches=matches, dropped_facts=dropped)
            draft = self.roles.drafter.draft(state["topic"], facts, feedback, questions=questions)
        update["draft"] = draft
        return with_issues(update, "draft_report", issues)

    def redraft_questions(self, state: HarnessState, questions: list[str]) -> list[int]:
        """The sub-questions a redraft gathers evidence for again (all of them here)."""
        return list(range(len(questions)))

    def review(self, state: HarnessState, runtime: Runtime) -> dict[str, Any]:
        with collect_issues() as own:
            result = self.roles.reviewer.review(
                state["topic"], state.get("draft") or "", state.get("facts") or []
            )
        # Model answers that could not be used (this review's and earlier steps') are findings:
        # errors among them fail the review, with the answer's excerpt on record.
        issues = [*(state.get("model_issues") or []), *own]
        draft = state.get("draft") or ""
        cited = [sid for _title, sid in parse_report(draft).sources.values() if sid]
        grounding = grounding_findings(draft, self.index(state).sections(cited))
        if issues or grounding:
            result = review_result(
                [*result["findings"], *grounding, *issue_findings(issues)], result["reviewer"]
            )
        trace = [
            emit(
                "draft_reviewed",
                "review",
                passed=result["passed"],
                findings=len(result["findings"]),
                reviewer=result["reviewer"],
                thin=is_thin(result),
            )
        ]
        if not result["passed"]:
            errors = [f["message"] for f in result["findings"] if f["severity"] == "error"]
            update = {
                "review": result,
                "status": "failed",
                "error": {
                    "step": "review",
                    "message": "review failed: " + "; ".join(errors),
                    "attempts": 1,
                    "kind": "review_failed",
                },
                "trace": trace,
            }
            return with_issues(update, "review", own)
        # The gate comes next: record that a person's decision is now needed.
        trace.append(emit("approval_required", "review", output_path=state.get("output_path")))
        update = {
            "review": result,
            "status": "waiting_approval",
            "trace": trace,
            "messages": [gate_announcement(state)],
        }
        return with_issues(update, "review", own)

    def finalize_report(self, state: HarnessState, runtime: Runtime) -> dict[str, Any]:
        approval = state.get("approval") or {}
        if approval.get("decision") not in ("approve", "edit"):
            raise PolicyViolation("the report is written only after approval")
        target = self.policy.check_write(path_from_state(state["output_path"]))
        report = write_report_once(target, state["draft"], self.policy.root_of(target))
        event = "report_already_written" if report["already_written"] else "report_written"
        return {
            "report": report,
            "trace": [emit(event, "finalize_report", path=report["path"], sha256=report["sha256"])],
        }

    # -- terminal bookkeeping -----------------------------------------------------------------

    def done(self, state: HarnessState) -> dict[str, Any]:
        block_for_crash_test("done")  # test-only crash hook (app/nodes/guard.py); no-op otherwise
        report = state.get("report") or {}
        event = emit("run_completed", "done", path=report.get("path"), bytes=report.get("bytes"))
        message = written_message(report.get("path"), state.get("draft") or "")
        return {"status": "completed", "trace": [event], "messages": [message]}

    def failed(self, state: HarnessState) -> dict[str, Any]:
        error = state.get("error") or {"step": "unknown", "message": "failed", "attempts": 0}
        event = emit("run_failed", "failed", failed_step=error["step"], error=error["message"])
        message = failed_message(error["step"], error["message"])
        return {"status": "failed", "trace": [event], "messages": [message]}

    def cancelled(self, state: HarnessState) -> dict[str, Any]:
        event = emit("run_cancelled", "cancelled")
        return {"status": "cancelled", "trace": [event], "messages": [cancelled_message()]}


# -- routing: which labelled edge a finished step takes --------------------------------------


def after_tool(state: HarnessState) -> str:
    return "tool_error" if failed_kind(state) else "tool_ok"


def after_review(state: HarnessState) -> str:
    kind = failed_kind(state)
    if kind in ("tool_error", "policy"):
        return "tool_error"
    return "review_passed" if (state.get("review") or {}).get("passed") else "review_failed"

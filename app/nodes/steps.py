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
from app.research.review import review_result
from app.research.roles import Roles
from app.research.sources import index_for, load_documents
from app.safety.policy import Policy
from app.safety.report_writer import write_report_once
from app.state import HarnessState, Match, ModelIssue, path_for_state, path_from_state
from app.store.blobs import BlobStore, resolve_sources
from app.store.registry import RunRegistry

SEARCH_RESULTS_PER_QUESTION = 5
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

    def documents(self, state: HarnessState):
        sources = resolve_sources(self.blobs, state.get("sources"))
        return load_documents(sources, self.settings.corpus)

    def search(self, state: HarnessState, runtime: Runtime) -> dict[str, Any]:
        return {"matches": self.search_questions(state, state.get("plan") or [state["topic"]])}

    def search_questions(self, state: HarnessState, questions: list[str]) -> list[Match]:
        index = index_for(self.documents(state))
        best: dict[str, Match] = {}
        for question in questions:
            for doc, score in index.search(question, k=SEARCH_RESULTS_PER_QUESTION):
                if doc.source_id not in best or score > best[doc.source_id]["score"]:
                    best[doc.source_id] = {
                        "source_id": doc.source_id,
                        "title": doc.title,
                        "score": round(score, 4),
                        "query": question,
                    }
        return sorted(best.values(), key=lambda m: -m["score"])

    def extract_facts(self, state: HarnessState, runtime: Runtime) -> dict[str, Any]:
        with collect_issues() as issues:
            facts = self.facts_for(state, state.get("plan") or [], state.get("matches") or [])
        return with_issues({"facts": facts}, "extract_facts", issues)

    def facts_for(self, state: HarnessState, questions: list[str], matches: list[Match]):
        by_id = {d.source_id: d for d in self.documents(state)}
        documents = [by_id[m["source_id"]] for m in matches if m["source_id"] in by_id]
        return self.roles.facts.extract(state["topic"], questions, documents)

    def draft_report(self, state: HarnessState, runtime: Runtime) -> dict[str, Any]:
        feedback = state.get("feedback") or []
        with collect_issues() as issues:
            draft = self.roles.drafter.draft(state["topic"], state.get("facts") or [], feedback)
        update = {"draft": draft, "review": None, "approval": None}
        return with_issues(update, "draft_report", issues)

    def review(self, state: HarnessState, runtime: Runtime) -> dict[str, Any]:
        with collect_issues() as own:
            result = self.roles.reviewer.review(
                state["topic"], state.get("draft") or "", state.get("facts") or []
            )
        # Model answers that could not be used (this review's and earlier steps') are findings:
        # errors among them fail the review, with the answer's excerpt on record.
        issues = [*(state.get("model_issues") or []), *own]
        if issues:
            result = review_result(
                [*result["findings"], *issue_findings(issues)], result["reviewer"]
            )
        trace = [
            emit(
                "draft_reviewed",
                "review",
                passed=result["passed"],
                findings=len(result["findings"]),
                reviewer=result["reviewer"],
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

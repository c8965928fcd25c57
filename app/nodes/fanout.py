"""The manager-worker research team (fan-out mode): what a worker does for one sub-question and
how the join merges the workers' evidence. Wiring (Send, nodes, edges) is in
graphs/research_team.py.

- `dispatch_payloads` turns the plan into one worker input per sub-question.
- `TeamSteps.research` is one worker: search + extract for its sub-question only, reusing the
  linear graph's `search_questions` / `facts_for`.
- `worker_step` wraps a worker with the same trace/retry bookkeeping as every tool step
  (`app.nodes.guard.tool_step`), but a worker whose retries are spent does not fail the run: its
  sub-question is recorded as failed in `subquestions`, and the join decides.
- `TeamSteps.join_facts` sorts the records by question index (so offline runs reproduce),
  merges facts round-robin across questions with fresh ids, and fails the run only when every
  worker failed. `draft_report` adds an "Evidence Gaps" section naming the questions without
  evidence; the approval request lists each sub-question's outcome.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from app.models.issues import collect_issues
from app.nodes.gate import Gate
from app.nodes.guard import StepFn, failure_update, tool_step
from app.nodes.steps import HarnessSteps, with_issues
from app.nodes.tracing import emit
from app.research.facts import number_facts
from app.safety.policy import Policy
from app.state import Fact, HarnessState, Match, SubQuestion, WorkerInput

# The fan-out gathers evidence per question; the report keeps the best of it, balanced across
# questions (linear mode keeps up to 8 facts in one extraction).
MAX_TEAM_FACTS = 12
EVIDENCE_GAPS = "## Evidence Gaps"


def dispatch_payloads(state: HarnessState) -> list[WorkerInput]:
    """One worker input per planned sub-question (the topic itself if the plan is empty)."""
    questions = state.get("plan") or [state["topic"]]
    payloads: list[WorkerInput] = []
    for index, question in enumerate(questions):
        payload: WorkerInput = {"topic": state["topic"], "index": index, "question": question}
        if state.get("sources"):
            payload["sources"] = state["sources"]
        payloads.append(payload)
    return payloads


def worker_step(step: str, fn: StepFn, policy: Policy, max_attempts: int) -> StepFn:
    """`tool_step` for a fan-out worker: same events and retries, but a worker that fails on its
    last attempt returns a failed sub-question record instead of failing the run."""
    guarded = tool_step(step, fn, policy, max_attempts)

    def node(state: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
        update = guarded(state, runtime)
        if update.get("status") != "failed":
            return update
        error = update.get("error") or {}
        index, question = state.get("index", 0), state.get("question", "")
        record: SubQuestion = {
            "index": index,
            "question": question,
            "status": "failed",
            "matches": [],
            "facts": [],
            "error": error.get("message"),
            "attempts": error.get("attempts", max_attempts),
        }
        event = emit(
            "subquestion_failed",
            step,
            index=index,
            question=question,
            error=error.get("message"),
            attempts=record["attempts"],
        )
        return {"subquestions": [record], "trace": [*update.get("trace", []), event]}

    node.__name__ = step
    return node


def joined_records(records: list[SubQuestion]) -> list[SubQuestion]:
    """One record per question index (the last one written wins), in question order."""
    by_index: dict[int, SubQuestion] = {}
    for record in records:
        by_index[record["index"]] = record
    return [by_index[i] for i in sorted(by_index)]


def merge_facts(records: list[SubQuestion], limit: int = MAX_TEAM_FACTS) -> list[Fact]:
    """Round-robin over the questions' facts in index order, dropping repeats, then renumber."""
    queues = [list(r.get("facts") or []) for r in joined_records(records)]
    merged: list[Fact] = []
    seen: set[tuple[str, str]] = set()
    while any(queues) and len(merged) < limit:
        for queue in queues:
            while queue:
                fact = queue.pop(0)
                key = (fact["source_id"], " ".join(fact["text"].lower().split()))
                if key not in seen:
                    seen.add(key)
                    merged.append(fact)
                    break
            if len(merged) == limit:
                break
    return number_facts(merged)


def merge_matches(records: list[SubQuestion]) -> list[Match]:
    """Every worker's matches in question order (a redraft re-reads them per question)."""
    merged: dict[tuple[str, str], Match] = {}
    for record in joined_records(records):
        for match in record.get("matches") or []:
            merged.setdefault((match["query"], match.get("section_id", "")), match)
    return list(merged.values())


def evidence_gaps(records: list[SubQuestion]) -> list[SubQuestion]:
    return [r for r in joined_records(records) if r.get("status") != "answered"]


def gaps_section(gaps: list[SubQuestion]) -> str:
    lines = [EVIDENCE_GAPS, ""]
    for gap in gaps:
        why = (
            f"its worker failed ({gap.get('error')})"
            if gap.get("status") == "failed"
            else "the sources had nothing on it"
        )
        lines.append(f'- Question {gap["index"] + 1}, "{gap["question"]}": no evidence; {why}.')
    return "\n".join(lines) + "\n"


class TeamSteps(HarnessSteps):
    """The linear graph's steps plus the fan-out worker and join."""

    @classmethod
    def from_steps(cls, steps: HarnessSteps) -> TeamSteps:
        return cls(steps.settings, steps.roles, steps.policy, steps.blobs)

    def research(self, state: WorkerInput, runtime: Runtime) -> dict[str, Any]:
        # The worker does the linear graph's search and extract_facts: the same policy applies.
        self.policy.check_tool("search")
        self.policy.check_tool("extract_facts")
        index, question = state["index"], state["question"]
        matches = self.search_questions(state, [question])
        # Unusable model answers are recorded like in extract_facts, so the review sees them.
        with collect_issues() as issues:
            facts, dropped = (
                self.facts_for(state, [question], matches, index) if matches else ([], [])
            )
        facts = [{**f, "id": f"Q{index + 1}.F{n}"} for n, f in enumerate(facts, start=1)]
        info = runtime.execution_info
        record: SubQuestion = {
            "index": index,
            "question": question,
            "status": "answered" if facts else "no_evidence",
            "matches": matches,
            "facts": facts,
            "dropped_facts": dropped,
            "error": None,
            "attempts": info.node_attempt if info else 1,
        }
        event = emit(
            "subquestion_answered" if facts else "subquestion_no_evidence",
            "research",
            index=index,
            question=question,
            matches=len(matches),
            facts=len(facts),
        )
        return with_issues({"subquestions": [record], "trace": [event]}, "research", issues)

    def join_facts(self, state: HarnessState, runtime: Runtime) -> dict[str, Any]:
        records = joined_records(state.get("subquestions") or [])
        failed = [r for r in records if r.get("status") == "failed"]
        detail = {
            "workers": len(records),
            "answered": [r["index"] + 1 for r in records if r.get("status") == "answered"],
            "no_evidence": [r["index"] + 1 for r in records if r.get("status") == "no_evidence"],
            "failed": [r["index"] + 1 for r in failed],
        }
        if not records or len(failed) == len(records):
            reasons = "; ".join(f"question {r['index'] + 1}: {r.get('error')}" for r in failed)
            message = f"all {len(records)} sub-questions failed ({reasons})"
            event = emit("team_failed", "join_facts", **detail)
            return failure_update("join_facts", message, 1, "all_workers_failed", [event])
        facts = merge_facts(records)
        event = emit("facts_joined", "join_facts", facts=len(facts), **detail)
        dropped = [d for r in records for d in r.get("dropped_facts") or []]
        return {
            "facts": facts,
            "matches": merge_matches(records),
            "dropped_facts": dropped,
            "trace": [event],
        }

    def draft_report(self, state: HarnessState, runtime: Runtime) -> dict[str, Any]:
        update = super().draft_report(state, runtime)
        gaps = evidence_gaps(state.get("subquestions") or [])
        if gaps:
            update["draft"] = update["draft"].rstrip("\n") + "\n\n" + gaps_section(gaps)
        return update

    def redraft_questions(self, state: HarnessState, questions: list[str]) -> list[int]:
        # A question whose worker failed stays a reported gap; its extraction is not retried
        # inside the redraft, where a failure would sink the whole run.
        failed = {
            r["index"]
            for r in joined_records(state.get("subquestions") or [])
            if r.get("status") == "failed"
        }
        return [i for i in range(len(questions)) if i not in failed]

    def approval_request(self, state: HarnessState, gate: Gate | None = None) -> dict[str, Any]:
        request = super().approval_request(state, gate)
        request["subquestions"] = [
            {
                "index": r["index"],
                "question": r["question"],
                "status": r.get("status"),
                "facts": len(r.get("facts") or []),
                "error": r.get("error"),
            }
            for r in joined_records(state.get("subquestions") or [])
        ]
        return request


def after_join(state: HarnessState) -> str:
    error = state.get("error") or {}
    if state.get("status") == "failed":
        return "all_failed" if error.get("kind") == "all_workers_failed" else "tool_error"
    return "joined"

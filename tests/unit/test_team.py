"""The fan-out graph (graphs/research_team.py) and its worker/join domain (app/nodes/fanout.py)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from app.nodes.fanout import EVIDENCE_GAPS, joined_records, merge_facts
from app.research.facts import OfflineFactExtractor
from app.research.planner import OfflinePlanner
from app.service.runs import Harness
from tests.helpers import assert_trace_follows_workflow, events, roles_with

# Four questions in one: the offline planner makes each a sub-question (one worker each).
TOPIC = (
    "How do heat pumps work, how efficient are they, what do they cost "
    "and what are their limitations in cold climates?"
)


class RecordingFacts(OfflineFactExtractor):
    """Offline extraction that remembers the questions of every call (calls come from threads)."""

    provider = "recording-test"

    def __init__(self, fail_when: str | None = None):
        self.fail_when = fail_when
        self.questions: list[list[str]] = []
        self._lock = threading.Lock()

    def extract(self, topic, questions, documents):
        with self._lock:
            self.questions.append(list(questions))
        if self.fail_when and any(self.fail_when in q for q in questions):
            raise ConnectionError("model endpoint reset the connection")
        return super().extract(topic, questions, documents)


class BrokenPlanner:
    provider = "broken-test"

    def plan(self, topic):
        raise TimeoutError("planner model timed out")


def fanout(settings, **roles) -> Harness:
    return Harness.in_memory(settings, roles=roles_with(**roles))


def record(index, question, status="answered", facts=()):
    return {
        "index": index,
        "question": question,
        "status": status,
        "matches": [],
        "facts": [
            {"id": f"F{n}", "text": text, "source_id": src, "source_title": src.upper()}
            for n, (text, src) in enumerate(facts, start=1)
        ],
        "error": None,
        "attempts": 1,
    }


def test_join_is_in_question_order_with_unique_ids_whatever_order_workers_finish():
    a = record(0, "q0", facts=[("alpha one", "a"), ("shared", "s")])
    b = record(1, "q1", facts=[("shared", "s"), ("beta one", "b")])
    c = record(2, "q2", facts=[("gamma one", "c")])
    forward = merge_facts([a, b, c])
    assert merge_facts([c, a, b]) == forward == merge_facts([b, c, a])
    # Round-robin across questions, repeats dropped, renumbered F1..Fn.
    assert [f["text"] for f in forward] == ["alpha one", "shared", "gamma one", "beta one"]
    assert [f["id"] for f in forward] == ["F1", "F2", "F3", "F4"]
    assert [r["index"] for r in joined_records([c, a, b])] == [0, 1, 2]


def test_join_caps_facts_but_keeps_every_question_represented():
    many = [record(i, f"q{i}", facts=[(f"q{i} fact {k}", f"s{i}") for k in range(8)])
            for i in range(4)]
    facts = merge_facts(many, limit=6)
    assert len(facts) == 6
    assert {f["source_id"] for f in facts} == {"s0", "s1", "s2", "s3"}


def test_fanout_run_sends_one_worker_per_question_and_writes_after_approval(settings):
    facts = RecordingFacts()
    h = fanout(settings, facts=facts)
    run = h.start(TOPIC, mode="fanout")
    assert run.status == "waiting_approval"
    plan = run.values["plan"]
    assert len(plan) == 4
    # Each worker asked about its own sub-question only.
    assert sorted(q for call in facts.questions for q in call) == sorted(plan)
    assert all(len(call) == 1 for call in facts.questions)
    subs = run.values["subquestions"]
    assert [s["status"] for s in joined_records(subs)] == ["answered"] * 4
    ids = [f["id"] for f in run.values["facts"]]
    assert ids == [f"F{i}" for i in range(1, len(ids) + 1)]
    assert [s["status"] for s in run.pending["subquestions"]] == ["answered"] * 4
    assert EVIDENCE_GAPS not in run.pending["draft"]
    assert not settings.reports_root.exists()

    done = h.approve(run.run_id)
    assert done.status == "completed"
    assert Path(done.report_path).read_text() == done.values["draft"]
    assert_trace_follows_workflow(h.graph("fanout"), done.trace)


def test_workers_of_one_step_are_in_flight_together(settings):
    """Not a timing test: every worker waits at a barrier that only opens once all of them have
    started, which can only happen if they run concurrently (bench/bench_fanout.py times it)."""

    class BarrierFacts(OfflineFactExtractor):
        provider = "barrier-test"
        barrier = threading.Barrier(4, timeout=20)

        def extract(self, topic, questions, documents):
            self.barrier.wait()
            return super().extract(topic, questions, documents)

    run = fanout(settings, facts=BarrierFacts()).start(TOPIC, mode="fanout")
    assert run.status == "waiting_approval"
    assert "tool_error" not in events(run.trace)


def test_offline_fanout_runs_are_reproducible(settings):
    first = fanout(settings).start(TOPIC, mode="fanout")
    second = fanout(settings).start(TOPIC, mode="fanout")
    assert first.values["facts"] == second.values["facts"]
    assert first.values["draft"] == second.values["draft"]


def test_a_worker_that_fails_after_retries_does_not_sink_the_run(settings):
    facts = RecordingFacts(fail_when="limitations")
    h = fanout(settings, facts=facts)
    run = h.start(TOPIC, mode="fanout")
    assert run.status == "waiting_approval"
    failing = [c for c in facts.questions if "limitations" in c[0]]
    assert len(failing) == settings.retry_attempts  # the real retry policy ran
    errors = [e for e in run.trace if e["event"] == "tool_error" and e["step"] == "research"]
    assert [e["attempt"] for e in errors] == [1, 2, 3]
    assert [e["will_retry"] for e in errors] == [True, True, False]
    failed = [s for s in run.values["subquestions"] if s["status"] == "failed"]
    assert len(failed) == 1 and "limitations" in failed[0]["question"]
    assert "ConnectionError" in failed[0]["error"]
    assert run.values["error"] is None
    # The draft (and the gate) say which question has no evidence.
    draft = run.pending["draft"]
    gaps = draft.split(EVIDENCE_GAPS, 1)[1]
    assert failed[0]["question"] in gaps and "worker failed" in gaps
    assert [s["status"] for s in run.pending["subquestions"]].count("failed") == 1
    joined = next(e for e in run.trace if e["event"] == "facts_joined")
    assert joined["failed"] == [failed[0]["index"] + 1]

    done = h.approve(run.run_id)
    assert done.status == "completed"
    assert EVIDENCE_GAPS in Path(done.report_path).read_text()
    assert_trace_follows_workflow(h.graph("fanout"), done.trace)


def test_if_every_worker_fails_the_run_fails_and_writes_nothing(settings):
    h = fanout(settings, facts=RecordingFacts(fail_when=" "))
    run = h.start(TOPIC, mode="fanout")
    assert run.status == "failed"
    assert run.values["error"]["step"] == "join_facts"
    assert run.values["error"]["kind"] == "all_workers_failed"
    assert "all 4 sub-questions failed" in run.values["error"]["message"]
    assert events(run.trace)[-1] == "run_failed"
    assert "team_failed" in events(run.trace)
    assert "draft_report" not in {e["step"] for e in run.trace}
    assert not settings.reports_root.exists()
    assert_trace_follows_workflow(h.graph("fanout"), run.trace)


def test_a_sub_question_without_evidence_is_named_in_the_draft(settings):
    class OddPlanner:
        provider = "odd-test"

        def plan(self, topic):
            return [*OfflinePlanner().plan(topic), "zeppelin upholstery"]

    run = fanout(settings, planner=OddPlanner()).start(TOPIC, mode="fanout")
    assert run.status == "waiting_approval"
    last = joined_records(run.values["subquestions"])[-1]
    assert last["status"] == "no_evidence"
    gap = '"zeppelin upholstery": no evidence; the sources had nothing on it'
    assert gap in run.pending["draft"]
    assert "- Zeppelin upholstery: no evidence for it in this report." in run.pending["draft"]


def test_plan_failure_takes_the_tool_error_edge(settings):
    h = fanout(settings, planner=BrokenPlanner())
    run = h.start(TOPIC, mode="fanout")
    assert run.status == "failed"
    assert run.values["error"]["step"] == "plan"
    assert "research" not in {e["step"] for e in run.trace}
    assert_trace_follows_workflow(h.graph("fanout"), run.trace)


def test_workers_obey_the_tool_policy(settings, tmp_path):
    policy = tmp_path / "policy.json"
    rules = {"allowed_write_roots": ["reports"], "disabled_tools": ["search"]}
    policy.write_text(json.dumps(rules))
    h = Harness.in_memory(settings.model_copy(update={"policy_file": policy}))
    run = h.start(TOPIC, mode="fanout")
    assert run.status == "failed"
    refused = [e for e in run.trace if e["event"] == "policy_refused"]
    assert len(refused) == len(run.values["plan"])  # refused at once, not retried
    assert "disabled by policy" in run.values["error"]["message"]


def test_reject_with_feedback_redrafts_through_the_same_gate(settings):
    h = fanout(settings, facts=RecordingFacts(fail_when="limitations"))
    run = h.start(TOPIC, mode="fanout")
    again = h.reject(run.run_id, feedback="Say more about refrigerants.")
    assert again.status == "waiting_approval"
    assert "Say more about refrigerants." in again.pending["draft"]
    # The feedback changed the content, not only the notes.
    body = again.pending["draft"].split("## Revision Notes")[0]
    assert body != run.pending["draft"] and "refrigerant" in body.lower()
    assert EVIDENCE_GAPS in again.pending["draft"]  # the gap is still reported
    cancelled = h.reject(again.run_id)
    assert cancelled.status == "cancelled"
    assert_trace_follows_workflow(h.graph("fanout"), cancelled.trace)


def test_an_unusable_model_answer_in_a_worker_reaches_the_review(settings):
    from app.models.issues import report_issue

    class GarbledFacts(OfflineFactExtractor):
        provider = "fake-model"

        def extract(self, topic, questions, documents):
            if "limitations" in questions[0]:
                report_issue("research", "answer is not JSON", "Sure! Here are facts: ...")
            return super().extract(topic, questions, documents)

    run = fanout(settings, facts=GarbledFacts()).start(TOPIC, mode="fanout")
    assert run.status == "failed"
    assert run.values["error"]["kind"] == "review_failed"
    assert "model_answer_problem" in events(run.trace)
    messages = " ".join(f["message"] for f in run.values["review"]["findings"])
    assert "answer is not JSON" in messages and "Sure! Here are facts" in messages

"""`run_created` opens every run; `run_resumed` marks each time a stopped run is carried on
(a decision at the gate, `resume` after a crash or stop), naming the step it resumes from.
Both keep the trace a walk over the compiled workflow."""

from __future__ import annotations

import pytest

from app.research.facts import OfflineFactExtractor
from app.service.runs import Harness
from tests.conftest import TOPIC
from tests.helpers import assert_trace_follows_workflow, events, roles_with


class Crash(BaseException):
    """Not an Exception: no retry policy catches it, so it stops the run like a killed process
    (the last finished step's checkpoint stays, the crashed step is `next`)."""


class CrashOnce(OfflineFactExtractor):
    provider = "crash-once"

    def __init__(self):
        self.calls = 0

    def extract(self, topic, questions, documents):
        self.calls += 1
        if self.calls == 1:
            raise Crash
        return super().extract(topic, questions, documents)


@pytest.mark.parametrize("mode", ["linear", "fanout"])
def test_run_created_comes_first_with_topic_mode_roles_and_policy(harness, settings, mode):
    run = harness.start(TOPIC, mode=mode)
    # intake's run_started opens every run's trace (a fresh run per input); then plan's event
    started, first = run.trace[0], run.trace[1]
    assert started["event"] == "run_started" and started["step"] == "intake"
    assert first["event"] == "run_created" and first["step"] == "plan"
    assert first["topic"] == TOPIC and first["mode"] == mode
    assert set(first["roles"]) == {"planner", "facts", "drafter", "reviewer"}
    assert first["policy"]["allowed_write_roots"] == [str(settings.reports_root)]
    assert events(run.trace).count("run_created") == 1
    assert_trace_follows_workflow(harness.graph(mode), run.trace)


def test_a_decision_resumes_the_run_from_the_gate(harness):
    run = harness.start(TOPIC)
    assert "run_resumed" not in events(run.trace)
    live: list[dict] = []
    revised = harness.reject(run.run_id, feedback="Say more about noise.", on_event=live.append)
    done = harness.approve(revised.run_id)
    resumed = [e for e in done.trace if e["event"] == "run_resumed"]
    assert [(e["from_step"], e["reason"], e["status"]) for e in resumed] == [
        ("approval", "decision", "waiting_approval"),
        ("approval", "decision", "waiting_approval"),
    ]
    assert live[0] == resumed[0]  # streamed live first, then kept in the trace
    names = events(done.trace)
    assert names.index("run_resumed") < names.index("approval_rejected")
    assert_trace_follows_workflow(harness.graph(), done.trace)


def test_resume_after_a_crash_names_the_step_it_resumes_from(settings):
    harness = Harness.in_memory(settings, roles=roles_with(facts=CrashOnce()))
    with pytest.raises(Crash):
        harness.start(TOPIC, run_id="stopped-run")
    stopped = harness.get("stopped-run")
    assert stopped.status == "interrupted" and stopped.next == ("extract_facts",)
    run = harness.resume("stopped-run")
    assert run.status == "waiting_approval"
    [resumed] = [e for e in run.trace if e["event"] == "run_resumed"]
    assert (resumed["from_step"], resumed["reason"], resumed["status"]) == (
        "extract_facts", "interrupted", "interrupted",
    )
    assert events(run.trace).count("run_created") == 1
    assert_trace_follows_workflow(harness.graph(), run.trace)
    assert harness.trace_summary("stopped-run")["resumes"]["count"] == 1


def test_input_cannot_smuggle_a_policy_or_trace_into_a_run(settings, tmp_path):
    h = Harness.in_memory(settings)
    graph = h.graph()
    config = {"configurable": {"thread_id": "direct"}}
    graph.invoke(
        {"topic": TOPIC, "policy": {"allowed_write_roots": ["/"]},
         "trace": [{"event": "forged", "step": "plan", "ts": "x"}]},
        config,
    )
    values = graph.get_state(config).values
    assert "policy" not in values
    assert "forged" not in events(values["trace"])
    assert values["output_path"].startswith(str(settings.reports_root))

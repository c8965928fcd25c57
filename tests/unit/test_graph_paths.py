"""Every path through the linear graph, on an in-memory checkpointer."""

from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from app.errors import AlreadyDecided, InputError, NotWaiting, PolicyViolation
from app.service.runs import Harness
from graphs.harness import build_graph
from tests.helpers import FlakyFacts, assert_trace_follows_workflow, events, roles_with

TOPIC = "How do heat pumps work?"


def reports(settings) -> list[Path]:
    root = settings.reports_root
    return sorted(root.iterdir()) if root.exists() else []


def finish(h: Harness, run) -> None:
    assert_trace_follows_workflow(h.graph(run.mode), run.trace)


def test_pass_and_approve_writes_the_report_once(harness, settings):
    run = harness.start(TOPIC)
    assert run.status == "waiting_approval"
    assert run.next == ("approval",)
    assert reports(settings) == []  # nothing is written before approval
    pending = run.pending
    assert pending["allowed_decisions"] == ["approve", "edit", "reject"]
    assert pending["review"]["passed"] is True
    assert pending["output_path"].startswith(str(settings.reports_root))
    assert "## Sources\n\n- [1] " in pending["draft"]

    done = harness.approve(run.run_id, by="tester")
    assert done.status == "completed"
    report = done.values["report"]
    assert Path(report["path"]).read_text() == done.values["draft"]
    assert reports(settings) == [Path(report["path"])]
    assert events(done.trace)[-1] == "run_completed"
    for required in (
        "tool_start",
        "tool_ok",
        "draft_reviewed",
        "approval_required",
        "approval_granted",
        "report_written",
        "run_completed",
    ):
        assert required in events(done.trace)
    assert done.values["approval"]["by"] == "tester"
    finish(harness, done)


def test_review_failure_ends_failed_with_findings_and_no_report(harness, settings):
    run = harness.start("medieval troubadour poetry")
    assert run.status == "failed"
    assert run.values["error"]["step"] == "review"
    assert "review failed" in run.values["error"]["message"]
    assert run.values["review"]["passed"] is False
    assert events(run.trace)[-2:] == ["tool_ok", "run_failed"]
    assert "approval_required" not in events(run.trace)
    assert reports(settings) == []
    finish(harness, run)


def test_tool_error_after_retries_is_recorded_not_raised(settings):
    flaky = FlakyFacts(failures=99)
    h = Harness.in_memory(settings, roles=roles_with(facts=flaky))
    run = h.start(TOPIC)  # does not raise
    assert run.status == "failed"
    assert run.values["error"] == {
        "step": "extract_facts",
        "message": "TimeoutError: model timed out (call 3) (after 3 attempts)",
        "attempts": 3,
        "kind": "tool_error",
    }
    errors = [e for e in run.trace if e["event"] == "tool_error"]
    assert [(e["attempt"], e["will_retry"]) for e in errors] == [(1, True), (2, True), (3, False)]
    assert flaky.calls == 3
    assert events(run.trace)[-1] == "run_failed"
    finish(h, run)


def test_a_transient_error_is_retried_and_the_run_goes_on(settings):
    h = Harness.in_memory(settings, roles=roles_with(facts=FlakyFacts(failures=1)))
    run = h.start(TOPIC)
    assert run.status == "waiting_approval"
    step_events = [
        (e["event"], e.get("attempt")) for e in run.trace if e["step"] == "extract_facts"
    ]
    assert step_events == [("tool_start", 1), ("tool_error", 1), ("tool_start", 2), ("tool_ok", 2)]
    finish(h, run)


def test_retry_attempts_are_configurable(tmp_path):
    from app.config import Settings

    settings = Settings(home=tmp_path, retry_attempts=1, retry_initial_interval=0)
    h = Harness.in_memory(settings, roles=roles_with(facts=FlakyFacts(failures=1)))
    run = h.start(TOPIC)
    assert run.status == "failed"
    assert run.values["error"]["attempts"] == 1


def test_edit_replaces_the_markdown_that_is_written(harness):
    run = harness.start(TOPIC)
    edited = "# Heat pumps, edited\n\nWritten by a person.\n"
    done = harness.edit(run.run_id, edited)
    assert done.status == "completed"
    assert Path(done.values["report"]["path"]).read_text() == edited
    granted = [e for e in done.trace if e["event"] == "approval_granted"]
    assert granted[0]["edited"] is True
    finish(harness, done)


def test_reject_with_feedback_redrafts_then_approve(harness):
    run = harness.start(TOPIC)
    again = harness.reject(run.run_id, feedback="Say more about running costs.")
    assert again.status == "waiting_approval"
    assert again.values["revisions"] == 1
    assert "Say more about running costs." in again.pending["draft"]
    assert again.pending["revisions"] == 1
    done = harness.approve(again.run_id)
    assert done.status == "completed"
    assert events(done.trace).count("draft_reviewed") == 2
    assert "approval_rejected" in events(done.trace)
    assert "revision_requested" in events(done.trace)
    finish(harness, done)


def test_reject_without_feedback_cancels_and_writes_nothing(harness, settings):
    run = harness.start(TOPIC)
    done = harness.reject(run.run_id)
    assert done.status == "cancelled"
    assert events(done.trace)[-1] == "run_cancelled"
    assert reports(settings) == []
    finish(harness, done)


def test_revisions_are_bounded(tmp_path):
    from app.config import Settings

    h = Harness.in_memory(Settings(home=tmp_path, max_revisions=1))
    run = h.start(TOPIC)
    run = h.reject(run.run_id, feedback="first")
    assert run.status == "waiting_approval"
    run = h.reject(run.run_id, feedback="second")
    assert run.status == "failed"
    assert "limit 1" in run.values["error"]["message"]
    finish(h, run)


def test_invalid_resume_payload_asks_again_and_keeps_the_run_waiting(settings):
    graph = build_graph(InMemorySaver(), settings=settings)
    config = {"configurable": {"thread_id": "t1"}}
    graph.invoke({"topic": TOPIC}, config)
    before = graph.get_state(config)

    for bad in ({"decision": "maybe"}, {"decision": "edit"}, {"nope": 1}, "approve", 42):
        graph.invoke(Command(resume=bad), config)  # no exception
        state = graph.get_state(config)
        assert state.next == ("approval",)
        assert "validation_error" in state.interrupts[0].value
        assert state.values["draft"] == before.values["draft"]
    assert state.interrupts[0].id == before.interrupts[0].id

    graph.invoke(Command(resume={"decision": "approve"}), config)
    assert graph.get_state(config).values["status"] == "completed"


def test_interrupt_offers_a_json_schema_for_the_resume_form(settings):
    graph = build_graph(InMemorySaver(), settings=settings)
    config = {"configurable": {"thread_id": "t2"}}
    graph.invoke({"topic": TOPIC}, config)
    schema = graph.get_state(config).interrupts[0].response_schema
    native, hitl = schema["anyOf"]  # both dialects of the gate are published
    assert native["properties"]["decision"]["enum"] == ["approve", "edit", "reject"]
    assert native["required"] == ["decision"]
    assert hitl["required"] == ["decisions"]
    choices = hitl["properties"]["decisions"]["items"]["anyOf"]
    kinds = {d["properties"]["type"]["const"] for d in choices}
    assert kinds == {"approve", "edit", "reject", "respond"}


def test_decisions_on_runs_that_are_not_waiting_are_refused(harness):
    run = harness.start(TOPIC)
    harness.approve(run.run_id)
    with pytest.raises(AlreadyDecided, match="already completed"):
        harness.approve(run.run_id)
    failed = harness.start("medieval troubadour poetry")
    with pytest.raises(NotWaiting):
        harness.reject(failed.run_id, feedback="x")
    with pytest.raises(InputError):
        harness.decide(run.run_id, {"decision": "ship-it"})


def test_bad_start_input_creates_no_run(harness):
    for topic in ("", "   ", "x" * 501):
        with pytest.raises(InputError):
            harness.start(topic)
    with pytest.raises(InputError):
        harness.start(TOPIC, mode="sideways")
    assert harness.list() == []


def test_inline_sources_are_searched_and_cited(harness):
    docs = [
        {"title": "Pumps A", "content": "Heat pumps move heat from cold air into warm homes."},
        {
            "title": "Pumps B",
            "content": "Heat pumps reach a coefficient of performance near three.",
        },
    ]
    run = harness.start("heat pumps", documents=docs)
    assert run.status == "waiting_approval"
    assert {f["source_id"] for f in run.values["facts"]} == {"doc-1", "doc-2"}


def test_output_path_outside_the_allowed_root_is_refused_before_any_write(harness, tmp_path):
    target = tmp_path / "elsewhere" / "r.md"
    with pytest.raises(PolicyViolation, match="outside the allowed roots"):
        harness.start(TOPIC, output_path=target)  # refused up front: no run is stored
    assert harness.list() == []
    # A client that bypasses the Python API (Studio, langgraph dev) is refused by the plan step.
    config = {"configurable": {"thread_id": "direct"}}
    harness.graph().invoke({"topic": TOPIC, "output_path": str(target)}, config)
    values = harness.graph().get_state(config).values
    assert values["status"] == "failed" and values["error"]["kind"] == "policy"
    assert "policy_refused" in events(values["trace"])
    assert not (tmp_path / "elsewhere").exists()


def test_trace_events_are_streamed_live_in_the_same_order(harness):
    seen = []
    run = harness.start(TOPIC, on_event=seen.append)
    assert seen == run.trace


def test_time_ordered_run_ids_get_distinct_report_paths(harness):
    # langgraph dev uses UUIDv7 thread ids: the same leading characters within a minute.
    first = harness.start(TOPIC, run_id="01935f3a-0000-7000-8000-000000000001")
    second = harness.start(TOPIC, run_id="01935f3a-0000-7000-8000-000000000002")
    assert first.values["output_path"] != second.values["output_path"]
    a, b = harness.approve(first.run_id), harness.approve(second.run_id)
    assert a.values["report"]["already_written"] is False
    assert b.values["report"]["already_written"] is False
    assert a.report_path != b.report_path


def test_starting_a_run_under_an_id_already_taken_is_refused_and_changes_nothing(harness):
    first = harness.start(TOPIC, run_id="my-own-id")
    with pytest.raises(InputError, match="run my-own-id already exists"):
        harness.start("Another topic entirely", run_id="my-own-id")
    again = harness.get("my-own-id")
    assert again.topic == TOPIC and again.trace == first.trace and again.status == first.status


def test_the_gate_shows_the_whole_draft_however_long(settings):
    from app.research.drafting import OfflineDrafter

    class LongDrafter(OfflineDrafter):
        def draft(self, topic, facts, feedback, questions=None):
            return super().draft(topic, facts, feedback, questions) + "\n" + "More detail. " * 1000

    h = Harness.in_memory(settings, roles=roles_with(drafter=LongDrafter()))
    run = h.start(TOPIC)
    assert run.pending["draft"] == run.values["draft"]
    assert len(run.pending["draft"]) > 10_000

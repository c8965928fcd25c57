"""Token usage and cost, from the model's own answers into the trace and the roll-up.

Runs the real ChatOpenAI path against the loopback OpenAI-compatible stub, which reports
`usage` like a real endpoint; fake chat models stand in for endpoints that report none.
"""

from __future__ import annotations

import json

import pytest

from app.config import Settings
from app.errors import InputError
from app.models.chat import ModelCaller, chat_model
from app.models.prices import PriceTable
from app.models.roles import ModelPlanner, model_roles
from app.models.usage import collect_usage, usage_events
from app.service.runs import Harness
from tests.conftest import TOPIC
from tests.unit.openai_stub import completion, good_answer, openai_stub
from tests.unit.test_model_roles import fake

USAGE = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}


def answer_with_usage(body):
    reply = completion(good_answer(body), body.get("model", "stub-model"))
    return 200, {**reply, "usage": USAGE}


def _run(tmp_path, prices: dict | None):
    with openai_stub(*[answer_with_usage] * 12) as stub:
        overrides = {"base_url": stub.url, "model": "stub-model", "retry_initial_interval": 0}
        if prices is not None:
            table = tmp_path / "prices.json"
            table.write_text(json.dumps(prices))
            overrides["price_table"] = table
        settings = Settings.from_env(home=tmp_path / "home", **overrides)
        h = Harness.in_memory(settings)
        run = h.start(TOPIC)
        assert run.status == "waiting_approval", run.values.get("error")
        return h, run


def test_usage_per_role_is_recorded_in_the_trace_and_priced_from_the_table(tmp_path):
    prices = {"stub-model": {"input_per_million": 2.0, "output_per_million": 8.0}}
    h, run = _run(tmp_path, prices)
    usage = [e for e in run.trace if e["event"] == "model_usage"]
    assert [(e["step"], e["role"]) for e in usage] == [
        ("plan", "planner"), ("extract_facts", "facts"), ("draft_report", "drafter"),
        ("review", "reviewer"),
    ]
    per_call = (100 * 2.0 + 10 * 8.0) / 1_000_000
    for event in usage:
        assert (event["calls"], event["input_tokens"], event["output_tokens"]) == (1, 100, 10)
        assert event["total_tokens"] == 110 and event["model"] == "stub-model"
        assert event["cost_usd"] == pytest.approx(per_call)
    summary = h.trace_summary(run.run_id)
    tokens = summary["tokens"]
    assert set(tokens["by_role"]) == {"planner", "facts", "drafter", "reviewer"}
    assert tokens["by_role"]["facts"]["input_tokens"] == 100
    assert tokens["total"]["total_tokens"] == 440 and tokens["total"]["calls"] == 4
    assert tokens["cost"] == "priced" and tokens["cost_usd"] == pytest.approx(4 * per_call)
    # The operational summary carries the same figures.
    brief = h.summary(run.run_id)
    assert (brief["model_calls"], brief["tokens"]) == (4, 440)
    assert brief["cost_usd"] == pytest.approx(4 * per_call)


def test_without_a_price_for_the_model_the_cost_is_unpriced_not_guessed(tmp_path):
    h, run = _run(tmp_path, {"another-model": {"input_per_million": 1, "output_per_million": 1}})
    tokens = h.trace_summary(run.run_id)["tokens"]
    assert tokens["total"]["total_tokens"] == 440
    assert tokens["cost"] == "unpriced" and tokens["cost_usd"] is None
    h, run = _run(tmp_path / "none", None)
    assert h.summary(run.run_id)["cost"] == "unpriced"


def test_an_answer_cut_off_by_max_tokens_still_counts_its_tokens(settings):
    cut = completion('{"questions": ["How does a heat pump', "m", finish_reason="length")
    with openai_stub((200, {**cut, "usage": USAGE})) as stub:
        local = settings.model_copy(update={"base_url": stub.url, "model": "m"})
        caller = ModelCaller(chat_model(local), "stub", modes=("json_object",))
        with collect_usage() as calls:
            ModelPlanner(caller).plan(TOPIC)
    # The cut-off answer (100 in, 10 out, read from the completion the client raised on) and
    # the repair request's answer (the stub's default usage, 1 in, 1 out).
    [event] = usage_events(calls)
    assert event["role"] == "planner" and event["calls"] == 2
    assert (event["input_tokens"], event["output_tokens"]) == (101, 11)


def test_a_model_that_reports_no_usage_is_counted_as_such_not_as_zero(settings):
    plan = json.dumps({"questions": ["How does a heat pump move heat?"]})
    caller, _script, _chat = fake(plan)
    with collect_usage() as calls:
        ModelPlanner(caller).plan(TOPIC)
    [event] = usage_events(calls)
    assert event["calls"] == 1 and event["calls_without_usage"] == 1
    assert event["total_tokens"] == 0 and event["cost_usd"] is None


def test_offline_roles_make_no_model_calls(harness):
    run = harness.start(TOPIC)
    assert not [e for e in run.trace if e["event"] == "model_usage"]
    assert harness.trace_summary(run.run_id)["tokens"]["cost"] == "no model calls"


def test_usage_of_a_failed_attempt_is_kept(settings, tmp_path):
    from tests.unit.test_model_roles import PLAN, connection_refused

    # plan answers, then the facts call fails on every attempt: the plan's usage stays.
    caller, _script, _ = fake(PLAN, *[connection_refused()] * 3)
    h = Harness.in_memory(settings, roles=model_roles(caller))
    run = h.start(TOPIC)
    assert run.status == "failed"
    assert [e["step"] for e in run.trace if e["event"] == "model_usage"] == ["plan"]
    steps = h.trace_summary(run.run_id)["steps"]
    assert steps["extract_facts"]["attempts"] == 3 and steps["extract_facts"]["retries"] == 2
    assert steps["extract_facts"]["errors"] == 3 and steps["extract_facts"]["executions"] == 0


@pytest.mark.parametrize(
    "content",
    ['{"m": {"input_per_million": -1, "output_per_million": 1}}', '{"m": {"input": 1}}', "[]",
     "not json"],
)
def test_a_bad_price_table_is_one_clear_error(tmp_path, content):
    table = tmp_path / "prices.json"
    table.write_text(content)
    with pytest.raises(InputError, match="price table"):
        PriceTable.load(table)

"""Model-backed roles with langchain-core fake chat models (and a loopback OpenAI-compatible stub
for the real ChatOpenAI path): clean, fenced, wordy, garbage, empty answers and errors."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx2
import openai
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from app.config import SAMPLE_CORPUS, Settings
from app.models.chat import ModelCaller, ModelConfigError, chat_model, provider_name
from app.models.choice import roles_for
from app.models.issues import collect_issues
from app.models.roles import (
    ModelDrafter,
    ModelFactExtractor,
    ModelPlanner,
    ModelReviewer,
    model_roles,
)
from app.research.report_format import parse_report
from app.research.roles import offline_roles
from app.research.sources import gather_evidence, open_sources
from app.service.runs import Harness
from tests.conftest import TOPIC
from tests.unit.openai_stub import completion, good_answer, openai_stub

PROVIDER = "fake:test-model"


class Script:
    """Answers in order: a string/AIMessage is returned, an exception is raised."""

    def __init__(self, *items: Any):
        self.items = list(items)
        self.calls = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.calls += 1
        if not self.items:
            raise AssertionError("the model was asked more often than the test expected")
        item = self.items.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item


class RecordingFake(GenericFakeChatModel):
    """GenericFakeChatModel that also keeps the prompts it was sent."""

    prompts: list[list[Any]] = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.prompts.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def fake(*answers: Any) -> tuple[ModelCaller, Script, RecordingFake]:
    script = Script(*answers)
    chat = RecordingFake(messages=script, prompts=[])
    return ModelCaller(chat, PROVIDER), script, chat


def _request() -> httpx2.Request:
    return httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


def connection_refused() -> openai.APIConnectionError:
    return openai.APIConnectionError(request=_request())


def server_error() -> openai.InternalServerError:
    return openai.InternalServerError(
        "Error code: 500", response=httpx2.Response(500, request=_request()), body=None
    )


PLAN = json.dumps({"questions": ["How does a heat pump move heat?", "What do heat pumps cost?"]})


@pytest.fixture(scope="module")
def evidence(tmp_path_factory):
    index = open_sources(None, SAMPLE_CORPUS, tmp_path_factory.mktemp("home"))
    return gather_evidence(index, TOPIC, [TOPIC], k=3)


@pytest.fixture(scope="module")
def docs(evidence):
    return evidence.ranked_sections()


# -- parsing through the roles ---------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        PLAN,
        f"```json\n{PLAN}\n```",
        f"Sure, here is a plan for your report:\n\n{PLAN}\n\nLet me know if you need more.",
        PLAN.replace('"]}', '",]}'),
        AIMessage(content=[{"type": "text", "text": PLAN}]),
    ],
    ids=["clean", "fenced", "prose", "trailing-comma", "content-blocks"],
)
def test_planner_reads_clean_fenced_and_wordy_answers(answer) -> None:
    caller, script, _ = fake(answer)
    with collect_issues() as issues:
        plan = ModelPlanner(caller).plan(TOPIC)
    assert plan == [
        "How do heat pumps work",
        "How does a heat pump move heat?",
        "What do heat pumps cost?",
    ]
    assert issues == [] and script.calls == 1


def test_garbage_gets_one_repair_request_that_can_fix_it() -> None:
    caller, script, chat = fake("I'd be happy to help! Heat pumps are great.", PLAN)
    with collect_issues() as issues:
        plan = ModelPlanner(caller).plan(TOPIC)
    assert "What do heat pumps cost?" in plan and issues == []
    repair = chat.prompts[1]
    # The repair request shows the model its answer and says what was wrong with it.
    assert repair[1].content.startswith("I'd be happy to help")
    assert "could not be used: the answer contains no JSON object" in repair[2].content


@pytest.mark.parametrize(
    ("first", "second", "problem"),
    [
        ("no JSON here", "still none", "no JSON object"),
        ("", "", "empty"),
        ('{"steps": ["x"]}', '{"steps": ["y"]}', "does not fit the schema"),
    ],
    ids=["garbage", "empty", "wrong-shape"],
)
def test_what_still_fails_is_recorded_and_the_planner_falls_back(first, second, problem) -> None:
    caller, script, _ = fake(first, second)
    with collect_issues() as issues:
        plan = ModelPlanner(caller).plan(TOPIC)
    assert plan == offline_roles().planner.plan(TOPIC)  # the run can go on
    assert script.calls == 2  # the answer and exactly one repair request
    [issue] = issues
    assert issue["step"] == "plan" and issue["severity"] == "error"
    assert problem in issue["problem"] and "after one repair request" in issue["problem"]
    assert issue["excerpt"] == second.strip() and issue["provider"] == PROVIDER


@pytest.mark.parametrize(
    "error", [connection_refused(), server_error(), TimeoutError("read timed out")]
)
def test_model_and_network_errors_are_raised_for_the_retry_policy(error) -> None:
    caller, _, _ = fake(error)
    with pytest.raises(type(error)):
        ModelPlanner(caller).plan(TOPIC)


# -- grounding, drafting, review ------------------------------------------------------------


def test_facts_keep_only_sources_that_were_given_and_take_titles_from_them(
    docs, evidence
) -> None:
    answer = {
        "facts": [
            {"source_id": docs[0].id, "text": "Heat pumps move heat instead of making it."},
            {"source_id": "made-up-source", "text": "An invented claim from nowhere at all."},
            {"source_id": docs[1].id, "text": "The coefficient of performance is often 3."},
            {"source_id": docs[1].id, "text": "too short"},
        ]
    }
    caller, _, chat = fake(f"Here are the facts:\n```json\n{json.dumps(answer)}\n```")
    with collect_issues() as issues:
        facts = ModelFactExtractor(caller).extract(TOPIC, [TOPIC], evidence)
    assert [(f["id"], f["section_id"], f["source_id"], f["source_title"]) for f in facts] == [
        ("F1", docs[0].id, docs[0].doc_id, docs[0].title),
        ("F2", docs[1].id, docs[1].doc_id, docs[1].title),
    ]
    [dropped] = issues
    assert dropped["severity"] == "warning" and "made-up-source" in dropped["problem"]
    # The model saw the section ids it may cite, with the sections' most relevant sentences.
    prompt = chat.prompts[0][0].content
    assert f"[source_id: {docs[0].id}]" in prompt
    assert "A heat pump is a machine that moves heat from a cold place" in prompt


def test_unparsable_facts_are_an_empty_list_and_an_error_issue(evidence) -> None:
    caller, _, _ = fake('{"facts": [', "[[[")
    with collect_issues() as issues:
        assert ModelFactExtractor(caller).extract(TOPIC, [TOPIC], evidence) == []
    assert issues[0]["severity"] == "error" and "no usable facts" in issues[0]["problem"]


FACTS = [
    {"id": "F1", "text": "Heat pumps move heat.", "source_id": "a", "source_title": "A"},
    {"id": "F2", "text": "COP is often 3.", "source_id": "b", "source_title": "B"},
    {"id": "F3", "text": "They defrost.", "source_id": "a", "source_title": "A"},
]


def test_the_drafter_renders_the_report_shape_with_the_model_summary() -> None:
    answer = {"summary": "Heat pumps move heat and reach a COP of three.", "fact_ids": ["F2", "F1"]}
    caller, _, _ = fake(json.dumps(answer))
    draft = ModelDrafter(caller).draft(TOPIC, FACTS, ["mention costs"])
    report = parse_report(draft)
    assert report.title == TOPIC
    assert "reach a COP of three" in draft and "mention costs" in draft
    assert [text for text, _ in report.findings] == [
        "COP is often 3. [1]",
        "Heat pumps move heat. [2]",
    ]
    assert report.sources == {1: ("B", "b"), 2: ("A", "a")}


def test_a_draft_answer_that_picks_too_few_facts_lists_them_all() -> None:
    caller, _, _ = fake('{"summary": "A summary that is long enough.", "fact_ids": ["F9"]}')
    assert len(parse_report(ModelDrafter(caller).draft(TOPIC, FACTS, [])).findings) == 3


def test_rule_checks_still_run_under_a_model_reviewer() -> None:
    caller, _, _ = fake('{"passed": true, "findings": []}')
    result = ModelReviewer(caller).review(TOPIC, "# Title\n\nno findings, no sources\n", FACTS)
    assert not result["passed"]  # the model said fine; the rules did not
    assert result["reviewer"] == f"rules+{PROVIDER}"
    assert any("lists no sources" in f["message"] for f in result["findings"])


def test_model_findings_come_on_top_of_the_rules() -> None:
    draft = ModelDrafter(fake('{"summary": "A summary that is long enough."}')[0]).draft(
        TOPIC, FACTS, []
    )
    answer = {"passed": False, "findings": [{"severity": "ERROR", "message": "F3 is off topic"}]}
    caller, _, _ = fake(json.dumps(answer))
    result = ModelReviewer(caller).review(TOPIC, draft, FACTS)
    assert result["findings"] == [
        {"severity": "error", "message": "model reviewer: F3 is off topic"}
    ]
    assert not result["passed"]


# -- the whole graph on fake models ---------------------------------------------------------


def _answers_for_a_clean_run(docs_ids: list[str]) -> list[str]:
    return [
        f"```json\n{PLAN}\n```",
        json.dumps(
            {
                "facts": [
                    {"source_id": docs_ids[0], "text": "Heat pumps move heat from outside air."},
                    {
                        "source_id": docs_ids[1],
                        "text": "A heat pump has a coefficient of performance near 3.",
                    },
                ]
            }
        ),
        'Summary follows. {"summary": "Heat pumps move heat at a COP near three.", '
        '"fact_ids": ["F1", "F2"]}',
        '{"passed": true, "findings": [{"severity": "warning", "message": "could be longer"}]}',
    ]


@pytest.fixture
def corpus(tmp_path):
    """A two-document corpus, so every source is among those the facts role is shown."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "pumps.md").write_text(
        "# How heat pumps work\n\nHeat pumps move heat from outside air into a home.\n"
    )
    (folder / "costs.md").write_text(
        "# Heat pump costs\n\nA heat pump has a coefficient of performance near 3.\n"
    )
    return folder


def _ids(corpus) -> list[str]:
    return ["pumps#how-heat-pumps-work", "costs#heat-pump-costs"]


def test_a_model_run_reaches_the_gate_and_finishes_with_providers_in_the_trace(
    settings, corpus
) -> None:
    caller, script, _ = fake(*_answers_for_a_clean_run(_ids(corpus)))
    h = Harness.in_memory(settings, roles=model_roles(caller))
    run = h.start(TOPIC, corpus=corpus)
    assert run.status == "waiting_approval", run.values.get("error")
    [plan_ready] = [e for e in run.trace if e["event"] == "plan_ready"]
    assert set(plan_ready["roles"].values()) == {PROVIDER}
    assert run.values["review"]["findings"][-1]["message"] == "model reviewer: could be longer"
    done = h.approve(run.run_id)
    assert done.status == "completed" and script.calls == 4
    text = open(done.values["report"]["path"], encoding="utf-8").read()
    assert "Heat pumps move heat at a COP near three." in text
    assert len(parse_report(text).findings) == 2


def test_an_unusable_answer_ends_the_run_review_failed_with_the_excerpt(settings, corpus) -> None:
    answers = _answers_for_a_clean_run(_ids(corpus))
    answers[1:2] = ["The facts are: heat pumps are nice.", "Sorry, I cannot produce JSON."]
    caller, _, _ = fake(*answers)
    run = Harness.in_memory(settings, roles=model_roles(caller)).start(TOPIC, corpus=corpus)
    assert run.status == "failed"
    assert run.values["error"]["kind"] == "review_failed"
    assert "Sorry, I cannot produce JSON." in run.values["error"]["message"]
    [issue] = run.values["model_issues"]
    assert issue["step"] == "extract_facts"
    events = [e["event"] for e in run.trace]
    assert "model_answer_problem" in events and events[-1] == "run_failed"


def test_network_errors_are_retried_then_recorded_as_tool_error(settings) -> None:
    caller, script, _ = fake(connection_refused(), connection_refused(), connection_refused())
    run = Harness.in_memory(settings, roles=model_roles(caller)).start(TOPIC)
    assert run.status == "failed" and script.calls == settings.retry_attempts
    assert run.values["error"]["step"] == "plan"
    assert run.values["error"]["kind"] == "tool_error"
    assert "APIConnectionError" in run.values["error"]["message"]
    retries = [e["will_retry"] for e in run.trace if e["event"] == "tool_error"]
    assert retries == [True, True, False]


def test_a_5xx_then_a_good_answer_is_just_a_retry(settings, corpus) -> None:
    answers = _answers_for_a_clean_run(_ids(corpus))
    caller, _, _ = fake(server_error(), *answers)
    run = Harness.in_memory(settings, roles=model_roles(caller)).start(TOPIC, corpus=corpus)
    assert run.status == "waiting_approval"
    assert [
        e["attempt"] for e in run.trace if e["event"] == "tool_start" and e["step"] == "plan"
    ] == [
        1,
        2,
    ]


# -- settings, providers, the real ChatOpenAI against a loopback stub ------------------------


def test_roles_are_offline_without_a_model_and_model_backed_with_one(settings) -> None:
    assert set(roles_for(settings).providers().values()) == {"offline"}
    openai_roles = roles_for(settings.model_copy(update={"model": "gpt-4o-mini"}))
    assert set(openai_roles.providers().values()) == {"openai:gpt-4o-mini"}
    local = settings.model_copy(update={"base_url": "http://user:pw@127.0.0.1:8080/v1"})
    assert provider_name(local) == "openai-compatible:auto@127.0.0.1:8080"  # no credentials


def test_no_key_for_api_openai_com_is_a_clear_tool_error_without_retries(settings) -> None:
    settings = settings.model_copy(update={"model": "gpt-4o-mini", "api_key": None})
    run = Harness.in_memory(settings).start(TOPIC)
    assert run.status == "failed" and run.values["error"]["step"] == "plan"
    assert "no API key is set" in run.values["error"]["message"]
    assert run.values["error"]["attempts"] == 1
    assert ModelConfigError.__mro__[1].__name__ == "InputError"


def test_a_real_chatopenai_run_keeps_the_api_key_out_of_state_trace_report_and_logs(
    monkeypatch, caplog, tmp_path
) -> None:
    key = "sk-test-" + "k3y" * 12
    monkeypatch.setenv("HARNESS_API_KEY", key)
    caplog.set_level(logging.DEBUG)
    with openai_stub() as stub:
        monkeypatch.setenv("HARNESS_BASE_URL", stub.url)
        settings = Settings.from_env(home=tmp_path / "home", retry_initial_interval=0)
        h = Harness.in_memory(settings)
        streamed: list[dict] = []
        run = h.start(TOPIC, on_event=streamed.append)
        assert run.status == "waiting_approval", run.values.get("error")
        done = h.approve(run.run_id)
    assert done.status == "completed"
    # The key did reach the endpoint, and nothing else.
    sent = [{k.lower(): v for k, v in r["headers"].items()} for r in stub.requests]
    assert all(h["authorization"] == f"Bearer {key}" for h in sent)
    report = open(done.values["report"]["path"], encoding="utf-8").read()
    for place in (json.dumps(done.values, default=str), json.dumps(streamed), report, caplog.text):
        assert key not in place
    [plan_ready] = [e for e in done.values["trace"] if e["event"] == "plan_ready"]
    assert plan_ready["roles"]["planner"].startswith("openai-compatible:stub-model@")


def test_the_endpoint_gets_bounded_output_and_the_mode_it_supports(settings) -> None:
    refused = (
        500,
        {"error": {"message": "response_format.type: Input should be 'text' or 'json_object'"}},
    )
    with openai_stub(refused) as stub:
        local = settings.model_copy(
            update={"base_url": stub.url, "model": "gemma", "model_max_tokens": 77}
        )
        caller = ModelCaller.from_settings(local)
        with collect_issues() as issues:
            ModelPlanner(caller).plan(TOPIC)
            ModelPlanner(caller).plan(TOPIC)
    first, second, third = (r["body"] for r in stub.chat_requests())
    assert first["response_format"]["type"] == "json_schema"  # with_structured_output
    assert second["response_format"]["type"] == "json_object"  # llama.cpp's grammar mode
    assert second["response_format"]["schema"]["properties"]["questions"]["maxItems"] == 4
    assert third["response_format"]["type"] == "json_object"  # remembered
    assert first["max_tokens"] == 77 and first["max_completion_tokens"] == 77
    assert issues == []


def test_an_answer_cut_off_by_max_tokens_is_salvaged_not_raised(settings) -> None:
    # llama.cpp in grammar mode: the JSON is cut mid-string and finish_reason is "length",
    # which makes the OpenAI client raise LengthFinishReasonError.
    cut = '{"questions": ["How does a heat pump move heat?", "What do heat pumps co'
    with openai_stub((200, completion(cut, "m", finish_reason="length"))) as stub:
        local = settings.model_copy(update={"base_url": stub.url, "model": "m"})
        caller = ModelCaller(chat_model(local), "stub", modes=("json_object",))
        with collect_issues() as issues:
            plan = ModelPlanner(caller).plan(TOPIC)
    assert plan == ["How do heat pumps work", "How does a heat pump move heat?"]
    assert issues == [] and len(stub.chat_requests()) == 1


def test_a_wrong_key_is_refused_once_not_retried(settings) -> None:
    denied = (401, {"error": {"message": "Incorrect API key", "type": "invalid_request_error"}})
    with openai_stub(denied, denied, denied) as stub:
        local = settings.model_copy(update={"base_url": stub.url, "model": "m"})
        run = Harness.in_memory(local).start(TOPIC)
    assert run.status == "failed" and run.values["error"]["attempts"] == 1
    assert "refused the request" in run.values["error"]["message"]
    assert len(stub.chat_requests()) == 1


def test_the_stub_answers_like_a_model() -> None:
    # Guard for the helper the tests above rely on.
    body = {"messages": [{"role": "user", "content": 'x {"title":"Review"}'}]}
    assert json.loads(good_answer(body)) == {"passed": True, "findings": []}


def test_a_model_fact_not_in_its_section_is_dropped_and_shown_at_the_gate(settings, corpus):
    answers = _answers_for_a_clean_run(_ids(corpus))
    facts = json.loads(answers[1])["facts"]
    invented = {"source_id": _ids(corpus)[1], "text": "Heat pumps run silently at any load."}
    answers[1] = json.dumps({"facts": [*facts, invented]})
    caller, _, _ = fake(*answers)
    run = Harness.in_memory(settings, roles=model_roles(caller)).start(TOPIC, corpus=corpus)
    assert run.status == "waiting_approval", run.values.get("error")
    assert [f["text"] for f in run.values["facts"]] == [f["text"] for f in facts]
    [dropped] = run.pending["dropped_facts"]
    assert dropped == {
        "text": invented["text"],
        "section_id": "costs#heat-pump-costs",
        "reason": "not found in costs#heat-pump-costs",
    }
    assert "run silently" not in run.pending["draft"]
    assert any(e["event"] == "facts_dropped" for e in run.trace)

"""The tolerant parser finds the JSON in the messy answers real models give."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from app.models.parsing import AnswerParseError, excerpt, parse_answer, parse_json_answer


class Plan(BaseModel):
    questions: list[str]


@pytest.mark.parametrize(
    "answer",
    [
        '{"questions": ["a", "b"]}',
        '```json\n{"questions": ["a", "b"]}\n```',
        '```\n{"questions": ["a", "b"]}\n```',
        'Sure! Here is the plan:\n{"questions": ["a", "b"]}\nHope this helps.',
        'Here you go ```json\n{"questions": ["a", "b"],}\n``` done',
        '{"questions": ["a", "b",],}',
        "{'questions': ['a', 'b']}",
        '<think>the user wants a plan [1]</think>\n{"questions": ["a", "b"]}',
        '["a", "b"]',
        '{"Plan": {"questions": ["a", "b"]}}',
        '\ufeff  {"questions": ["a", "b"]}  ',
    ],
)
def test_messy_answers_parse_to_the_same_plan(answer: str) -> None:
    assert parse_answer(answer, Plan).questions == ["a", "b"]


def test_prose_with_brackets_before_the_json_is_skipped() -> None:
    answer = 'See [1] and {note}. The answer: {"questions": ["why [it] works"]}'
    assert parse_answer(answer, Plan).questions == ["why [it] works"]


def test_python_literals_and_json_literals_both_work() -> None:
    assert parse_json_answer("{'ok': True, 'none': None}") == {"ok": True, "none": None}
    assert parse_json_answer('{"ok": true, "x": null,}') == {"ok": True, "x": None}


def test_raw_newlines_inside_strings_are_accepted() -> None:
    # What the local Gemma model produced under a JSON grammar: a newline inside a string.
    answer = '{ "facts": [ { "source_id": "s1", "text": "an expansion\n\n" }] }'
    assert parse_json_answer(answer)["facts"][0]["text"] == "an expansion\n\n"


def test_an_answer_cut_off_by_max_tokens_keeps_its_complete_items() -> None:
    answer = '{"questions": ["first question", "second question", "third que'
    assert parse_answer(answer, Plan).questions == ["first question", "second question"]


def test_apostrophes_inside_double_quoted_strings_do_not_confuse_the_scan() -> None:
    answer = 'Here\'s it: {"questions": ["it\'s cold, isn\'t it?", "b"]} (that\'s all)'
    assert parse_answer(answer, Plan).questions == ["it's cold, isn't it?", "b"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        (None, "empty"),
        ("I cannot help with that.", "no JSON"),
        ("{not json at all", "no JSON"),
        ("<think>only thinking</think>", "empty"),
    ],
)
def test_unusable_answers_raise_a_short_reason(answer: str | None, reason: str) -> None:
    with pytest.raises(AnswerParseError, match=reason):
        parse_json_answer(answer)


def test_json_that_does_not_fit_the_schema_names_the_field() -> None:
    with pytest.raises(AnswerParseError, match="questions"):
        parse_answer('{"steps": ["a"]}', Plan)


def test_code_is_never_evaluated() -> None:
    with pytest.raises(AnswerParseError):
        parse_json_answer("{'a': __import__('os').system('echo hacked')}")


def test_content_blocks_are_read_as_text() -> None:
    blocks = [{"type": "text", "text": '{"questions": '}, {"type": "text", "text": '["a"]}'}]
    assert parse_json_answer(blocks) == {"questions": ["a"]}


def test_excerpt_is_one_bounded_line() -> None:
    text = "line one\nline two " + "x" * 1000
    short = excerpt(text, 50)
    assert "\n" not in short and len(short) == 50 and short.endswith("...")

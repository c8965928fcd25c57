"""The gate's two dialects: the LangChain v1 HITL shapes (as agent-chat-ui sends them) and the
native one, parsed to one Decision; what does not fit, or is stale, is refused with a reason."""

from __future__ import annotations

import pytest
from typing_extensions import get_type_hints

from app.errors import InputError
from app.nodes import hitl
from app.nodes.binding import Gate, gate_token, parse_gate_token
from app.nodes.gate import parse_answer

GATE = Gate("0123456789abcdef0123456789abcdef", "ab" * 32)


def test_agent_chat_ui_bodies_become_native_decisions():
    assert parse_answer({"decisions": [{"type": "approve"}]}).decision == "approve"
    edit = parse_answer(
        {
            "decisions": [
                {
                    "type": "edit",
                    "edited_action": {"name": "write_report", "args": {"markdown": "# Mine\n"}},
                }
            ]
        }
    )
    assert (edit.decision, edit.markdown) == ("edit", "# Mine\n")
    reject = parse_answer({"decisions": [{"type": "reject", "message": "Shorter."}]})
    assert (reject.decision, reject.feedback) == ("reject", "Shorter.")
    cancel = parse_answer({"decisions": [{"type": "reject"}]})
    assert (cancel.decision, cancel.feedback) == ("reject", None)


def test_native_answers_still_work():
    decision = parse_answer({"decision": "edit", "markdown": "# X\n", "by": "ann"})
    assert (decision.decision, decision.markdown, decision.by) == ("edit", "# X\n", "ann")


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ({"decisions": []}, "exactly one decision"),
        ({"decisions": [{"type": "approve"}, {"type": "approve"}]}, "exactly one decision"),
        ({"decisions": [{"type": "respond", "message": "no"}]}, "'respond' is not offered"),
        ({"decisions": [{"type": "ignore"}]}, "unknown decision type"),
        ({"decisions": [{"type": "edit", "edited_action": {"args": {}}}]}, "non-empty"),
        (
            {"decisions": [{"type": "edit", "edited_action": {"name": "x", "args": {"markdown": "a"}}}]},  # noqa: E501
            "only change write_report",
        ),
        (
            {
                "decisions": [
                    {
                        "type": "edit",
                        "edited_action": {"args": {"markdown": "a", "output_path": "/etc/x"}},
                    }
                ]
            },
            "only 'markdown' can be edited",
        ),
        ({"decisions": [{"type": "approve"}], "extra": 1}, "unknown key"),
        ({"type": "approve"}, "expected"),
        ("approve", "expected"),
        ({"decision": "ship-it"}, "decision"),
        ({"decision": "edit"}, "markdown"),
    ],
)
def test_answers_that_do_not_fit_say_why(answer, says):
    with pytest.raises(ValueError, match=says):
        parse_answer(answer, GATE)


def test_a_bound_answer_for_another_gate_or_draft_is_stale():
    ok = {"decision": "approve", "interrupt_id": GATE.interrupt_id[:8]}
    assert parse_answer(ok, GATE).decision == "approve"
    with pytest.raises(ValueError, match="stale answer: it was for gate"):
        parse_answer({"decision": "approve", "interrupt_id": "f" * 32}, GATE)
    with pytest.raises(ValueError, match="stale answer: it was for draft"):
        parse_answer({"decisions": [{"type": "approve"}], "draft_sha256": "cd" * 32}, GATE)
    with pytest.raises(ValueError, match="stale"):
        parse_answer({"decision": "approve", "interrupt_id": "0123"}, GATE)  # too short


def test_gate_tokens_round_trip_and_bad_ones_are_refused():
    token = gate_token(GATE.interrupt_id, GATE.draft_sha256)
    bound = parse_gate_token(token)
    assert parse_answer({"decision": "approve", **bound}, GATE).decision == "approve"
    for bad in ("", "xyz", "0123:ab", "zzzzzzzzzz"):
        with pytest.raises(InputError, match="invalid gate"):
            parse_gate_token(bad)


def test_the_request_has_one_action_whose_only_arg_is_the_markdown():
    request = hitl.hitl_request("# Draft\n", "**Write the report**")
    [action] = request["action_requests"]
    assert action == {"name": "write_report", "args": {"markdown": "# Draft\n"},
                      "description": "**Write the report**"}
    assert request["review_configs"] == [
        {"action_name": "write_report", "allowed_decisions": ["approve", "edit", "reject"]}
    ]


def test_the_mirrored_types_match_langchains_own():
    lc = pytest.importorskip("langchain.agents.middleware.human_in_the_loop")
    for name in (
        "Action",
        "ActionRequest",
        "ReviewConfig",
        "HITLRequest",
        "ApproveDecision",
        "EditDecision",
        "RejectDecision",
        "RespondDecision",
        "HITLResponse",
    ):
        ours, theirs = getattr(hitl, name), getattr(lc, name)
        assert set(get_type_hints(ours)) == set(get_type_hints(theirs)), name
        assert ours.__required_keys__ == theirs.__required_keys__, name

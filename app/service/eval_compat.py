"""Eval fixtures in the original harness's format, translated to ours (app/service/eval.py).

The original's cases look like

    {"name": "end-to-end-complete", "topic": "...", "source_file": "../sources.json",
     "auto_approve": true, "expected_status": "completed", "expected_current_step": "done",
     "required_events": ["approval_granted", "run_resumed"], "min_trace_events": 10,
     "expect_final_report": true}

and become `{"sources": ..., "auto_approve": ..., "expect": {"status", "current_step",
"events", "min_trace_events", "report"}}`. `current_step` means what it meant there: the action
waiting for approval (`finalize_report`), or the end the run reached (`done`).
"""

from __future__ import annotations

from typing import Any

from app.errors import InputError

ORIGINAL_CASE_KEYS = frozenset(
    {"name", "topic", "source_file", "expected_status", "expected_current_step",
     "required_events", "min_trace_events", "auto_approve", "expect_final_report"}
)
# Keys only the original format has; a case with any of them is read as one.
ORIGINAL_ONLY = ORIGINAL_CASE_KEYS - {"name", "topic", "auto_approve"}
EXPECT_FROM = {
    "expected_status": "status",
    "expected_current_step": "current_step",
    "required_events": "events",
    "min_trace_events": "min_trace_events",
    "expect_final_report": "report",
}


def is_original_case(raw: Any) -> bool:
    return isinstance(raw, dict) and bool(ORIGINAL_ONLY & set(raw))


def from_original_case(raw: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(raw) - ORIGINAL_CASE_KEYS
    if unknown:
        raise InputError(
            f"{where}: keys {sorted(unknown)} are not part of the original fixture format "
            "(do not mix the two formats in one case)"
        )
    if "source_file" not in raw:
        raise InputError(f"{where}: the original fixture format needs 'source_file'")
    case: dict[str, Any] = {
        "name": raw.get("name") or raw.get("topic"),
        "topic": raw.get("topic"),
        "sources": raw["source_file"],
        "expect": {ours: raw[theirs] for theirs, ours in EXPECT_FROM.items() if theirs in raw},
    }
    if "auto_approve" in raw:
        case["auto_approve"] = raw["auto_approve"]
    return case

"""What binds an answer to the gate it answers: the interrupt id and the draft's SHA-256.

Kept light (no graph or model imports): the Python API and the CLI check a binding before they
touch the graph, and the gate (app/nodes/gate.py) checks it again inside the interrupt.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from app.errors import InputError
from app.state_base import Decision

# Binding values may be shortened (the CLI prints prefixes), but not below this.
MIN_PREFIX = 8


class Gate(NamedTuple):
    """The gate an answer is bound to."""

    interrupt_id: str
    draft_sha256: str


def draft_sha256(draft: str) -> str:
    return hashlib.sha256(draft.encode("utf-8")).hexdigest()


def _matches(given: str | None, actual: str) -> bool:
    if given is None:
        return True
    given = given.strip().lower()
    return len(given) >= min(MIN_PREFIX, len(actual)) and actual.startswith(given)


def stale_reason(decision: Decision, gate: Gate) -> str | None:
    if not _matches(decision.interrupt_id, gate.interrupt_id):
        return (
            f"stale answer: it was for gate {decision.interrupt_id}, but the gate waiting now is "
            f"{gate.interrupt_id} (draft sha256 {gate.draft_sha256[:12]}); read this draft and "
            "answer again"
        )
    if not _matches(decision.draft_sha256, gate.draft_sha256):
        return (
            f"stale answer: it was for draft sha256 {decision.draft_sha256}, but the draft "
            f"waiting now has sha256 {gate.draft_sha256[:12]}; read this draft and answer again"
        )
    return None


def gate_token(interrupt_id: str, draft_sha: str) -> str:
    """The short form people copy: `harness approve ID --gate TOKEN`."""
    return f"{interrupt_id[:12]}:{draft_sha[:12]}"


def parse_gate_token(token: str) -> dict[str, str]:
    """`IID[:SHA]` (prefixes of at least 8 characters) as decision binding fields."""
    interrupt_id, _, sha = token.strip().lower().partition(":")
    hexdigits = set("0123456789abcdef")
    for part in (interrupt_id, sha) if sha else (interrupt_id,):
        if len(part) < MIN_PREFIX or not set(part) <= hexdigits:
            raise InputError(
                f"invalid gate {token!r}: expected INTERRUPT_ID[:DRAFT_SHA256] as printed by "
                "`harness pending` (hex, at least 8 characters each)"
            )
    return {"interrupt_id": interrupt_id, **({"draft_sha256": sha} if sha else {})}



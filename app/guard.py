"""Run a tool step with its trace and failure bookkeeping.

LangGraph's RetryPolicy re-runs a node that raises. We let it do that for every attempt but the
last; on the last attempt the error is recorded in state (`error`, `status="failed"`) and the
node returns normally, so the `tool_error` edge routes the run to `failed` instead of the
exception escaping `invoke`. Writes of failed attempts are discarded by LangGraph, so the events
of earlier attempts are kept here (per task, in process) and added to the final update.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime

from app.errors import HarnessError, PolicyViolation
from app.policy import Policy
from app.tracing import emit

StepFn = Callable[[dict[str, Any], Runtime], dict[str, Any]]

_EARLIER_ATTEMPTS: dict[str, list[dict[str, Any]]] = {}


def failure_update(
    step: str, message: str, attempts: int, kind: str, trace: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "status": "failed",
        "error": {"step": step, "message": message, "attempts": attempts, "kind": kind},
        "trace": trace,
    }


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def tool_step(step: str, fn: StepFn, policy: Policy, max_attempts: int) -> StepFn:
    def node(state: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
        info = runtime.execution_info
        attempt = info.node_attempt if info else 1
        key = info.task_id if info else step
        earlier = _EARLIER_ATTEMPTS.pop(key, []) if attempt > 1 else []
        started = time.perf_counter()
        events = [*earlier, emit("tool_start", step, attempt=attempt)]
        try:
            policy.check_tool(step)
            update = fn(state, runtime)
        except GraphBubbleUp:
            raise
        except HarnessError as exc:
            # Input and policy problems do not get better by retrying.
            event = "policy_refused" if isinstance(exc, PolicyViolation) else "tool_error"
            events.append(emit(event, step, attempt=attempt, error=str(exc), will_retry=False))
            kind = "policy" if isinstance(exc, PolicyViolation) else "tool_error"
            return failure_update(step, str(exc), attempt, kind, events)
        except Exception as exc:
            will_retry = attempt < max_attempts
            events.append(
                emit("tool_error", step, attempt=attempt, error=_describe(exc), will_retry=will_retry)
            )
            if will_retry:
                _EARLIER_ATTEMPTS[key] = events
                raise
            message = f"{_describe(exc)} (after {attempt} attempts)"
            return failure_update(step, message, attempt, "tool_error", events)
        ms = round((time.perf_counter() - started) * 1000, 1)
        own_events = update.pop("trace", [])
        events += [*own_events, emit("tool_ok", step, attempt=attempt, ms=ms)]
        return {**update, "trace": events}

    node.__name__ = step
    return node

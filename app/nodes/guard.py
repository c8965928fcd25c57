"""Run a tool step with its trace and failure bookkeeping.

LangGraph's RetryPolicy re-runs a node that raises. We let it do that for every attempt but the
last; on the last attempt the error is recorded in state (`error`, `status="failed"`) and the
node returns normally, so the `tool_error` edge routes the run to `failed` instead of the
exception escaping `invoke`. Writes of failed attempts are discarded by LangGraph, so the events
of earlier attempts are kept here (per task, in process) and added to the final update.

Each attempt's model token usage becomes `model_usage` events (one per role and model, failed
attempts included: their tokens were spent too), and `tool_ok` / `tool_error` carry the
attempt's duration in `ms`. An `opening` adds events before the first attempt's `tool_start`
(the plan step's `run_created`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime

from app.errors import HarnessError, PolicyViolation, WriteDeferred
from app.models.usage import collect_usage, usage_events
from app.nodes.tracing import emit
from app.research.corpus import one_listing_per_run
from app.safety.policy import Policy
from app.safety.secrets import scrub, scrub_message

StepFn = Callable[[dict[str, Any], Runtime], dict[str, Any]]
Opening = Callable[[dict[str, Any], Runtime], list[dict[str, Any]]]

_EARLIER_ATTEMPTS: dict[str, list[dict[str, Any]]] = {}


def failure_update(
    step: str, message: str, attempts: int, kind: str, trace: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "status": "failed",
        "error": {"step": step, "message": message, "attempts": attempts, "kind": kind},
        "trace": trace,
    }


def failed_kind(state: Mapping[str, Any]) -> str | None:
    """The kind of failure a step recorded (what routing reads), or None."""
    error = state.get("error")
    return error.get("kind") if state.get("status") == "failed" and error else None


def _describe(exc: BaseException) -> str:
    # Library errors can quote credentials (a rejected Authorization header): mask them first.
    text = scrub_message(str(exc)).strip()
    text = text.splitlines()[0][:300] if text else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- test-only crash hook ------------------------------------------------------------------------
# HARNESS_TEST_BLOCK_IN=<step>[:after] makes the process stop *inside* that node: it writes a
# marker file (HARNESS_TEST_BLOCK_MARKER, JSON {step, where, run_id, pid}) and sleeps
# (HARNESS_TEST_BLOCK_SECONDS, default 120) so a test can SIGKILL it there. ":after" blocks once
# the step's work is done but before its checkpoint is saved (for finalize_report: after the
# report file is written). Only the crash-resume tests set it; it does nothing otherwise.
TEST_BLOCK_ENV = "HARNESS_TEST_BLOCK_IN"


def block_for_crash_test(step: str, where: str = "before") -> None:
    wanted = os.environ.get(TEST_BLOCK_ENV)
    if not wanted:
        return
    name, _, when = wanted.partition(":")
    if name != step or (when or "before") != where:
        return
    from langgraph.config import get_config

    try:
        run_id = get_config()["configurable"].get("thread_id")
    except RuntimeError:
        run_id = None
    marker = os.environ.get("HARNESS_TEST_BLOCK_MARKER")
    if marker:
        info = {"step": step, "where": where, "run_id": run_id, "pid": os.getpid()}
        tmp = f"{marker}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(info, handle)
        os.replace(tmp, marker)
    hold = float(os.environ.get("HARNESS_TEST_BLOCK_SECONDS", "120"))
    release = os.environ.get("HARNESS_TEST_BLOCK_RELEASE")
    if not release:
        time.sleep(hold)
        return
    # Held until the test says so (it creates the file), not for a guessed time: on a loaded
    # machine another process may take longer than any fixed hold to get here.
    deadline = time.monotonic() + hold
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.02)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _usage(step: str, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [emit("model_usage", step, **detail) for detail in usage_events(calls)]


def tool_step(
    step: str,
    fn: StepFn,
    policy: Policy,
    max_attempts: int,
    *,
    opening: Opening | None = None,
) -> StepFn:
    def node(state: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
        info = runtime.execution_info
        attempt = info.node_attempt if info else 1
        key = info.task_id if info else step
        earlier = _EARLIER_ATTEMPTS.pop(key, []) if attempt > 1 else []
        if opening is not None and attempt == 1:
            earlier = opening(state, runtime)
        started = time.perf_counter()
        events = [*earlier, emit("tool_start", step, attempt=attempt)]
        # A step lists a corpus folder once however often it opens the index (a run started
        # through app/service/runs.py lists it once for all its steps).
        with collect_usage() as calls, one_listing_per_run():
            try:
                policy.check_tool(step)
                block_for_crash_test(step)
                update = fn(state, runtime)
                block_for_crash_test(step, "after")
            except (GraphBubbleUp, WriteDeferred):
                # an interrupt, or a side effect to retry on resume: not a failure of the run
                raise
            except HarnessError as exc:
                # Input and policy problems do not get better by retrying.
                event = "policy_refused" if isinstance(exc, PolicyViolation) else "tool_error"
                message = scrub_message(str(exc))
                events += _usage(step, calls)
                events.append(
                    emit(
                        event, step, attempt=attempt, error=message, will_retry=False,
                        ms=_elapsed_ms(started),
                    )
                )
                kind = "policy" if isinstance(exc, PolicyViolation) else "tool_error"
                return failure_update(step, message, attempt, kind, events)
            except Exception as exc:
                will_retry = attempt < max_attempts
                events += _usage(step, calls)
                events.append(
                    emit(
                        "tool_error", step, attempt=attempt, error=_describe(exc),
                        will_retry=will_retry, ms=_elapsed_ms(started),
                    )
                )
                if will_retry:
                    _EARLIER_ATTEMPTS[key] = events
                    raise
                message = f"{_describe(exc)} (after {attempt} attempts)"
                return failure_update(step, message, attempt, "tool_error", events)
        ms = _elapsed_ms(started)
        own_events = update.pop("trace", [])
        events += [*own_events, *_usage(step, calls), emit("tool_ok", step, attempt=attempt, ms=ms)]
        # What a step returns is checkpointed: no secret value may be in it. Trace events are
        # already scrubbed where they are made (app/tracing.make_event); the rest is done here.
        return {**scrub(update), "trace": events}

    node.__name__ = step
    return node

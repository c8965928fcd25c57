"""Token usage as the model reports it, handed to the step that made the calls.

`ModelCaller` records each answer's usage here (LangChain's `usage_metadata` on the AIMessage,
or the OpenAI completion's `usage` when the client raised on a cut-off answer); the tool step
collects them (`collect_usage()`, a context variable, so parallel fan-out workers never mix
their numbers) and writes one `model_usage` trace event per role and model. A call whose answer
carried no usage is counted as such, not as zero tokens. Cost is computed here, at call time,
from the price table the caller was built with, so Studio, the CLI and the Python API all read
the same figure from the trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from app.models.prices import PriceTable

_SINK: ContextVar[list[dict[str, Any]] | None] = ContextVar("harness_model_usage", default=None)


@contextmanager
def collect_usage() -> Iterator[list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []
    token = _SINK.set(calls)
    try:
        yield calls
    finally:
        _SINK.reset(token)


def tokens_of(usage: Any) -> tuple[int, int, int] | None:
    """(input, output, total) from LangChain usage_metadata or an OpenAI `usage` object."""
    if usage is None:
        return None
    get = usage.get if isinstance(usage, dict) else lambda k: getattr(usage, k, None)
    given = get("input_tokens"), get("output_tokens")
    if given == (None, None):
        given = get("prompt_tokens"), get("completion_tokens")
    if given == (None, None):
        return None
    inp, out = int(given[0] or 0), int(given[1] or 0)
    return inp, out, int(get("total_tokens") or inp + out)


def record_usage(
    role: str, provider: str, model: str | None, usage: Any, prices: PriceTable
) -> None:
    sink = _SINK.get()
    if sink is None:
        return  # a role called outside a graph step (a unit test of the role): nobody counts
    tokens = tokens_of(usage)
    call: dict[str, Any] = {"role": role, "provider": provider, "model": model, "tokens": tokens}
    price = prices.price_for(model)
    if tokens is not None and price is not None:
        call["cost_usd"] = price.cost(tokens[0], tokens[1])
    sink.append(call)


def usage_events(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The details of one `model_usage` event per (role, model), in first-call order."""
    grouped: dict[tuple[str, str | None], dict[str, Any]] = {}
    for call in calls:
        key = (call["role"], call["model"])
        row = grouped.setdefault(
            key,
            {
                "role": call["role"],
                "provider": call["provider"],
                "model": call["model"],
                "calls": 0,
                "calls_without_usage": 0,
                "input_tokens": 0,
                "output_tokens": 0,
                "total_tokens": 0,
                "cost_usd": 0.0,
                "unpriced_calls": 0,
            },
        )
        row["calls"] += 1
        if call["tokens"] is None:
            row["calls_without_usage"] += 1
        else:
            for name, value in zip(
                ("input_tokens", "output_tokens", "total_tokens"), call["tokens"], strict=True
            ):
                row[name] += value
        if "cost_usd" in call:
            row["cost_usd"] += call["cost_usd"]
        else:
            row["unpriced_calls"] += 1
    for row in grouped.values():
        priced = row["unpriced_calls"] < row["calls"]
        row["cost_usd"] = round(row["cost_usd"], 8) if priced else None
    return list(grouped.values())

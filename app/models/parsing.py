"""Tolerant parsing of model answers that should be JSON.

Models, small local ones above all, wrap JSON in code fences, add prose around it, leave trailing
commas, use Python-style single quotes or True/None, or get cut off by max_tokens in the middle of
a long array. `parse_json_answer` finds the JSON value in such an answer; `parse_answer` also
validates it against a pydantic schema. Both raise `AnswerParseError` with a short reason that
can be shown to the model in a repair request and recorded in a review finding.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

EXCERPT_CHARS = 300
# Far beyond any answer a role asks for (HARNESS_MODEL_MAX_TOKENS), and small enough that the
# bracket scan stays fast: a longer answer is refused before it is scanned.
MAX_ANSWER_CHARS = 40_000
MAX_BRACKET_STARTS = 25
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_-]*)[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_PY_WORDS = {"True": "true", "False": "false", "None": "null"}
_JSON_WORDS = {"true": "True", "false": "False", "null": "None"}


class AnswerParseError(ValueError):
    """The answer holds no usable JSON value (or not one that fits the schema)."""


def excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    """A one-line, bounded excerpt of a model answer for findings and traces."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def answer_text(content: Any) -> str:
    """The text of a chat message's content (a string or a list of content blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") in (None, "text"):
                parts.append(str(block.get("text", "")))
        return "".join(parts)
    return "" if content is None else str(content)


# -- scanning helpers (aware of strings, so brackets and commas inside text do not count) -------


def _structural(text: str, start: int = 0) -> Iterator[tuple[int, str]]:
    """(index, char) of every character outside string literals, quotes excluded."""
    quote: str | None = None
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        else:
            yield i, ch


def _balanced_end(text: str, start: int) -> tuple[int, list[int]]:
    """Where the value opening at `start` ends (-1 if it never closes), and its cut points.

    A cut point is an index where the value so far could be closed cleanly (after a complete
    element of an array or member of an object); it lets a truncated answer be salvaged.
    """
    stack: list[str] = []
    cuts: list[int] = []
    for i, ch in _structural(text, start):
        if ch in "[{":
            stack.append("]" if ch == "[" else "}")
        elif ch in "]}":
            if not stack or stack[-1] != ch:
                return -1, cuts
            stack.pop()
            if not stack:
                return i + 1, cuts
            cuts.append(i + 1)
        elif ch == ",":
            cuts.append(i)
    return -1, cuts


def _close_truncated(fragment: str, cut: int) -> str:
    """Close every bracket still open at `cut` (the answer stopped in the middle)."""
    head = fragment[:cut].rstrip().rstrip(",")
    stack: list[str] = []
    for _, ch in _structural(head):
        if ch in "[{":
            stack.append("]" if ch == "[" else "}")
        elif ch in "]}" and stack:
            stack.pop()
    return head + "".join(reversed(stack))


def _outside_strings(text: str, fn) -> str:
    """Apply `fn` to the parts of `text` that are not inside string literals."""
    out: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    escaped = False
    for ch in text:
        if quote:
            buf.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                out.append("".join(buf))
                buf, quote = [], None
        elif ch in "\"'":
            out.append(fn("".join(buf)))
            buf, quote = [ch], ch
        else:
            buf.append(ch)
    out.append("".join(buf) if quote else fn("".join(buf)))
    return "".join(out)


def _drop_trailing_commas(text: str) -> str:
    return _outside_strings(text, lambda part: re.sub(r",(\s*[}\]])", r"\1", part))


def _words(text: str, mapping: dict[str, str]) -> str:
    pattern = re.compile(r"\b(" + "|".join(mapping) + r")\b")
    return _outside_strings(text, lambda part: pattern.sub(lambda m: mapping[m.group(1)], part))


def _loads(candidate: str) -> Any:
    """json.loads, then the safe repairs: trailing commas, Python literals, single quotes."""
    # strict=False: raw newlines and tabs inside strings are common in model answers.
    # RecursionError: an absurdly nested value is a bad answer, not a crash of the step.
    try:
        return json.loads(candidate, strict=False)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError:
        pass
    fixed = _drop_trailing_commas(candidate)
    try:
        return json.loads(_words(fixed, _PY_WORDS), strict=False)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError:
        pass
    # Single quotes / Python literals: ast.literal_eval evaluates literals only, never code.
    try:
        value = ast.literal_eval(_words(fixed, _JSON_WORDS))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError("not JSON") from None
    if isinstance(value, (dict, list)):
        return json.loads(json.dumps(value))
    raise ValueError("not a JSON object or array")


def _candidates(text: str) -> list[str]:
    """Places the JSON value may be, best first: fenced blocks, the whole answer, then the
    bracketed values inside it (complete ones before salvaged truncated ones)."""
    found: list[str] = []
    truncated: list[str] = []
    blocks = [body for lang, body in _FENCE.findall(text) if lang.lower() in ("", "json", "json5")]
    for source in [*blocks, text]:
        if source.strip():
            found.append(source.strip())
        for n, match in enumerate(re.finditer(r"[\[{]", source)):
            if n == MAX_BRACKET_STARTS:
                break
            end, cuts = _balanced_end(source, match.start())
            if end > 0:
                found.append(source[match.start() : end])
            elif cuts:
                truncated.append(_close_truncated(source[match.start() :], cuts[-1]))
    return found + truncated


def json_values(text: Any) -> Iterator[Any]:
    """Every JSON object or array found in a model answer, best candidate first."""
    body = answer_text(text)
    if len(body) > MAX_ANSWER_CHARS:
        raise AnswerParseError(f"the answer is longer than {MAX_ANSWER_CHARS:,} characters")
    body = _THINK.sub("", body).strip().lstrip("\ufeff").strip()
    if not body:
        raise AnswerParseError("the answer was empty")
    loaded: list[str] = []
    for candidate in _candidates(body):
        # A value nested in one already found is part of it, not a separate answer.
        if any(candidate in outer for outer in loaded):
            continue
        try:
            value = _loads(candidate)
        except ValueError:
            continue
        if isinstance(value, (dict, list)):
            loaded.append(candidate)
            yield value


def parse_json_answer(text: Any) -> Any:
    """The JSON object or array in a model answer, repaired where that is safe."""
    for value in json_values(text):
        return value
    raise AnswerParseError("the answer contains no JSON object")


def _fit_shape(data: Any, schema: type[BaseModel]) -> Any:
    """A bare list where an object with one list field is expected: wrap it in that field."""
    if isinstance(data, list):
        list_fields = [
            name
            for name, field in schema.model_fields.items()
            if field.is_required() and "list" in str(field.annotation).lower()
        ]
        if len(list_fields) == 1:
            return {list_fields[0]: data}
    if isinstance(data, dict) and len(data) == 1:
        # {"Plan": {...}} or {"answer": {...}}: one wrapping key around the real object.
        (inner,) = data.values()
        if isinstance(inner, dict) and not set(data) & set(schema.model_fields):
            return inner
    return data


def validation_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "answer"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def parse_answer(text: Any, schema: type[T]) -> T:
    """Parse a model answer into `schema`: the first JSON value in it that fits. Raises
    AnswerParseError with a short reason."""
    first_problem: str | None = None
    for value in json_values(text):
        try:
            return schema.model_validate(_fit_shape(value, schema))
        except ValidationError as exc:
            first_problem = first_problem or validation_problem(exc)
    if first_problem is None:
        raise AnswerParseError("the answer contains no JSON object")
    raise AnswerParseError(f"the JSON does not fit the schema: {first_problem}")

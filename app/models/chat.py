"""The chat model behind the model-backed roles: a langchain-openai `ChatOpenAI` built from
settings, and `ModelCaller`, which asks for a JSON answer and turns whatever comes back into a
schema object.

- `HARNESS_MODEL` / `HARNESS_BASE_URL` / `HARNESS_API_KEY` (falling back to `OPENAI_BASE_URL` /
  `OPENAI_API_KEY`) select the endpoint; with none of them the offline roles run.
- Structured output is used where the endpoint supports it: `with_structured_output(method=
  "json_schema")` (OpenAI, vLLM, Ollama), else a JSON-object response format carrying the schema
  (llama.cpp's grammar-constrained mode), else a plain prompt. An endpoint that refuses a mode is
  asked again in the next one, once, and the mode that worked is kept for later calls.
- Every answer goes through the tolerant parser (app/models/parsing.py); if it still does not
  fit, the model gets one repair request. What still fails is returned as `None` plus the
  reason, and the role records it (app/models/issues.py): never an exception out of the graph.
- Network errors, timeouts, 5xx and rate limits are raised unchanged, so the node's RetryPolicy
  retries them and the last attempt is recorded as `tool_error` (app/nodes/guard.py).
- The API key lives only inside the client as a SecretStr; providers, traces, state and errors
  never carry it.
- Every answer's token usage (`usage_metadata`) is recorded for the step that asked, with its
  cost when a price table is configured (app/models/usage.py, app/models/prices.py).
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.constants import TAG_NOSTREAM
from pydantic import BaseModel, SecretStr

from app.config import Settings
from app.errors import InputError
from app.models.parsing import AnswerParseError, answer_text, excerpt, parse_answer
from app.models.prices import PriceTable
from app.models.usage import record_usage
from app.safety.secrets import MASK, scrub_message

T = TypeVar("T", bound=BaseModel)

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
# Sent as the key to local servers that need none (the OpenAI client insists on one).
NO_KEY = "not-needed"
MODES = ("json_schema", "json_object", "prompt")
DOCTOR_MAX_TOKENS = 16


# Role answers are JSON for the harness, not chat: LangGraph's `messages` stream mode (what
# chat clients such as agent-chat-ui render) skips model calls tagged nostream.
NOSTREAM: RunnableConfig = {"tags": [TAG_NOSTREAM]}


def _openai() -> Any:
    """The openai package, imported on first use: offline roles never need it, and loading it
    was a third of every offline `harness run`/`approve` process's start-up (0.35-0.8 s)."""
    import openai

    return openai


def refused_errors() -> tuple[type[Exception], ...]:
    """Errors that a wrong key, model name or URL gives: retrying does not help."""
    openai = _openai()
    return (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)


class ModelConfigError(InputError):
    """The model settings cannot work (no key for api.openai.com, no model on the server)."""


def endpoint_host(base_url: str | None) -> str:
    """host[:port] of an endpoint, without any user:password part of the URL."""
    if not base_url:
        return "api.openai.com"
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    return f"{host}:{parts.port}" if parts.port else host


def provider_name(settings: Settings, model: str | None = None) -> str:
    """What traces show for a model-backed role: 'openai:gpt-4o-mini' or
    'openai-compatible:gemma@127.0.0.1:8080'. Never the key."""
    model = model or settings.model
    if not settings.base_url:
        return f"openai:{model or DEFAULT_OPENAI_MODEL}"
    return f"openai-compatible:{model or 'auto'}@{endpoint_host(settings.base_url)}"


def _key(settings: Settings) -> SecretStr:
    if settings.api_key is not None and settings.api_key.get_secret_value():
        return settings.api_key
    if settings.base_url:
        return SecretStr(NO_KEY)
    raise ModelConfigError(
        "a model is configured for api.openai.com but no API key is set "
        "(set HARNESS_API_KEY or OPENAI_API_KEY, or HARNESS_BASE_URL for a local server)"
    )


def discover_model(settings: Settings, http_client: Any = None) -> str:
    """The first model an OpenAI-compatible server lists (used when HARNESS_MODEL is not set)."""
    client = _openai().OpenAI(
        base_url=settings.base_url,
        api_key=_key(settings).get_secret_value(),
        timeout=settings.model_timeout,
        max_retries=0,
        http_client=http_client,
    )
    models = [m.id for m in client.models.list()]
    if not models:
        raise ModelConfigError(
            f"the server at {endpoint_host(settings.base_url)} lists no models; set HARNESS_MODEL"
        )
    return models[0]


def chat_model(
    settings: Settings, *, model: str | None = None, http_client: Any = None
) -> BaseChatModel:
    """A ChatOpenAI for the configured endpoint: bounded output, no client-side retries (the
    graph's RetryPolicy retries), temperature 0."""
    from langchain_openai import ChatOpenAI

    name = model or settings.model
    if not name:
        name = discover_model(settings, http_client) if settings.base_url else DEFAULT_OPENAI_MODEL
    kwargs: dict[str, Any] = {}
    if settings.base_url:
        # ChatOpenAI sends only `max_completion_tokens`; llama.cpp and other servers read
        # `max_tokens` and would otherwise generate until their context is full.
        kwargs["extra_body"] = {"max_tokens": settings.model_max_tokens}
    if http_client is not None:
        kwargs["http_client"] = http_client
    return ChatOpenAI(
        model=name,
        base_url=settings.base_url,
        api_key=_key(settings),
        timeout=settings.model_timeout,
        max_retries=0,
        max_tokens=settings.model_max_tokens,
        temperature=0,
        **kwargs,
    )


@dataclass
class Answer:
    """What one request to the model gave: the parsed value, or None and why not."""

    value: Any
    raw: str
    problem: str | None = None
    calls: int = 1
    mode: str = "prompt"


def _completion_text(completion: Any) -> str:
    try:
        return completion.choices[0].message.content or ""
    except (AttributeError, IndexError, TypeError):
        return ""


def _is_openai_chat(chat: BaseChatModel) -> bool:
    try:
        from langchain_openai.chat_models.base import BaseChatOpenAI
    except ImportError:  # pragma: no cover - langchain-openai is a dependency
        return False
    return isinstance(chat, BaseChatOpenAI)


def _refuses_mode(exc: Exception) -> bool:
    """An endpoint saying it does not support the requested response format.

    OpenAI answers 400; vLLM 400; llama-cpp-python fails request validation with a 500 whose
    message names `response_format`.
    """
    openai = _openai()
    if isinstance(exc, (openai.BadRequestError, openai.UnprocessableEntityError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return "response_format" in str(exc) or "json_schema" in str(exc)
    return isinstance(exc, NotImplementedError)


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema with `$defs` references inlined (small grammars handle no `$ref`)."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.split("/")[-1]])
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def request_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The schema sent to the endpoint: inlined, closed objects, no `default` keys."""

    def close(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: close(v) for k, v in node.items() if k != "default"}
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            return node
        if isinstance(node, list):
            return [close(v) for v in node]
        return node

    return close(inline_refs(schema.model_json_schema()))


class ModelTimeout(TimeoutError):
    """The whole model call took longer than HARNESS_MODEL_TIMEOUT (retried like a timeout)."""


def within(seconds: float | None, fn: Any, *args: Any) -> Any:
    """`fn(*args)`, or ModelTimeout once `seconds` have passed. The call runs in a daemon
    thread with the caller's context (LangGraph's streaming and config); a call that overruns
    is abandoned, and each of its reads still ends at the client's own timeout."""
    if not seconds:
        return fn(*args)
    box: dict[str, Any] = {}
    context = contextvars.copy_context()

    def run() -> None:
        try:
            box["value"] = context.run(fn, *args)
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    worker = threading.Thread(target=run, name="model-call", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise ModelTimeout(f"the model did not answer within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


REPAIR_PROMPT = (
    "Your previous answer could not be used: {problem}.\n"
    "Answer again with ONLY one JSON object that matches this JSON schema, no prose and no "
    "code fence:\n{schema}"
)


class ModelCaller:
    """Asks one chat model for schema-shaped JSON answers. Shared by the four model roles.

    `modes` is the order of structured-output modes to try; by default `json_schema`,
    `json_object`, `prompt` for a ChatOpenAI and `prompt` for any other chat model (fakes).
    """

    def __init__(
        self,
        chat: BaseChatModel | None = None,
        provider: str = "model",
        *,
        factory: Any = None,
        modes: tuple[str, ...] | None = None,
        provider_for: Any = None,
        prices: PriceTable | None = None,
        timeout: float | None = None,
    ):
        if chat is None and factory is None:
            raise ValueError("give a chat model or a factory")
        self.prices = prices or PriceTable.empty()
        self._chat = chat
        self._factory = factory
        self.provider = provider
        self._modes = modes
        self._provider_for = provider_for
        self._lock = threading.Lock()
        # The client's timeout bounds each read; this bounds the whole call (a server that
        # drips one byte a second never trips a read timeout).
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings, *, http_client: Any = None) -> ModelCaller:
        # Built on first use: importing the graph (langgraph dev) must not need the network,
        # and a missing key becomes a recorded tool_error of the first model step.
        return cls(
            provider=provider_name(settings),
            factory=lambda: chat_model(settings, http_client=http_client),
            provider_for=lambda model: provider_name(settings, model),
            prices=PriceTable.load(settings.price_table),
            timeout=settings.model_timeout,
        )

    @property
    def chat(self) -> BaseChatModel:
        with self._lock:
            if self._chat is None:
                self._chat = self._factory()
                model = getattr(self._chat, "model_name", None)
                if self._provider_for and model:
                    # A model found on the server (no HARNESS_MODEL) is named from now on.
                    self.provider = self._provider_for(model)
            if self._modes is None:
                self._modes = MODES if _is_openai_chat(self._chat) else ("prompt",)
            return self._chat

    @property
    def modes(self) -> tuple[str, ...]:
        _ = self.chat
        return self._modes or ("prompt",)

    # -- one request -----------------------------------------------------------------------

    def _send(
        self, mode: str, messages: list[BaseMessage], schema: dict[str, Any], role: str
    ) -> tuple[str, Any]:
        """Send in one mode; returns (raw text, parsed dict or None)."""
        try:
            return within(self.timeout, self._send_once, mode, messages, schema, role)
        except _openai().LengthFinishReasonError as exc:
            # With a response format the client raises when max_tokens cut the answer off;
            # the partial text is still an answer (the parser salvages complete items).
            self._record_completion(role, exc.completion)
            return _completion_text(exc.completion), None
        except _openai().ContentFilterFinishReasonError as exc:
            self._record_completion(role, exc.completion)
            return "", None
        except RecursionError:
            # An absurdly nested answer broke the client's own JSON parsing: a bad answer
            # (recorded, repaired once), not a network error to retry.
            return "", None

    def _record_completion(self, role: str, completion: Any) -> None:
        """Usage of an OpenAI completion the client raised on: those tokens were spent too."""
        self._usage(role, getattr(completion, "model", None), getattr(completion, "usage", None))

    def _usage(self, role: str, model: str | None, usage: Any) -> None:
        model = model or getattr(self._chat, "model_name", None)
        record_usage(role, self.provider, model, usage, self.prices)

    def _record(self, role: str, message: Any) -> None:
        metadata = getattr(message, "response_metadata", None) or {}
        self._usage(role, metadata.get("model_name"), getattr(message, "usage_metadata", None))

    def _send_once(
        self, mode: str, messages: list[BaseMessage], schema: dict[str, Any], role: str
    ) -> tuple[str, Any]:
        chat = self.chat
        if mode == "json_schema":
            runnable = chat.with_structured_output(schema, method="json_schema", include_raw=True)
            out = runnable.invoke(messages, NOSTREAM)
            self._record(role, out.get("raw"))
            raw = answer_text(getattr(out.get("raw"), "content", ""))
            parsed = out.get("parsed")
            return raw, parsed if isinstance(parsed, dict) else None
        if mode == "json_object":
            # llama.cpp: a grammar built from the schema constrains the answer to it.
            message = chat.bind(response_format={"type": "json_object", "schema": schema}).invoke(
                messages, NOSTREAM
            )
        else:
            message = chat.invoke(messages, NOSTREAM)
        self._record(role, message)
        return answer_text(message.content), None

    def _request(
        self, messages: list[BaseMessage], schema: dict[str, Any], role: str
    ) -> tuple[str, Any, str]:
        modes = self.modes
        for i, mode in enumerate(modes):
            try:
                raw, parsed = self._send(mode, messages, schema, role)
            except refused_errors() as exc:
                # A wrong key, model name or URL does not get better by retrying.
                raise ModelConfigError(
                    f"the model endpoint refused the request: {describe_error(exc)}"
                ) from None
            except Exception as exc:
                if i + 1 < len(modes) and _refuses_mode(exc):
                    with self._lock:
                        self._modes = modes[i + 1 :]
                    continue
                raise
            return raw, parsed, mode
        raise AssertionError("unreachable: the last mode either answers or raises")

    # -- the public call ---------------------------------------------------------------------

    def ask(
        self,
        prompt: str,
        schema: type[T],
        *,
        wire_schema: dict[str, Any] | None = None,
        role: str = "model",
    ) -> Answer:
        """Ask for a `schema` object. Raises only for model/network errors; a bad answer is
        repaired once, then returned as Answer(value=None, problem=...). `role` names the
        asking role in the recorded token usage."""
        wire = wire_schema or request_schema(schema)
        schema_text = json.dumps(wire, separators=(",", ":"))
        # One user message: some chat formats (Gemma) drop system messages.
        messages: list[BaseMessage] = [
            HumanMessage(
                f"{prompt}\n\nAnswer with ONLY a JSON object matching this JSON schema:"
                f"\n{schema_text}"
            )
        ]
        raw, parsed, mode = self._request(messages, wire, role)
        value, problem = self._parse(raw, parsed, schema)
        if value is not None:
            return Answer(value, raw, None, 1, mode)
        messages += [
            AIMessage(raw or "(empty answer)"),
            HumanMessage(REPAIR_PROMPT.format(problem=problem, schema=schema_text)),
        ]
        raw2, parsed2, mode = self._request(messages, wire, role)
        value, problem2 = self._parse(raw2, parsed2, schema)
        if value is not None:
            return Answer(value, raw2, None, 2, mode)
        return Answer(None, raw2 or raw, f"{problem2} (after one repair request)", 2, mode)

    @staticmethod
    def _parse(raw: str, parsed: Any, schema: type[T]) -> tuple[T | None, str | None]:
        if parsed is not None:
            try:
                return schema.model_validate(parsed), None
            except ValueError:
                pass  # fall back to the tolerant parser on the raw text
        try:
            return parse_answer(raw, schema), None
        except AnswerParseError as exc:
            return None, str(exc)


# -- doctor ------------------------------------------------------------------------------------


def check_endpoint(settings: Settings, *, http_client: Any = None) -> dict[str, Any]:
    """One small call to the configured endpoint. Never raises; never shows the key."""
    result: dict[str, Any] = {"provider": provider_name(settings), "ok": False}
    started = time.perf_counter()
    try:
        small = settings.model_copy(update={"model_max_tokens": DOCTOR_MAX_TOKENS})
        chat = chat_model(small, http_client=http_client)
        result["model"] = getattr(chat, "model_name", None)
        result["provider"] = provider_name(settings, result["model"])
        message = chat.invoke([HumanMessage("Reply with the word OK.")])
        result.update(ok=True, answer=excerpt(answer_text(message.content), 80))
    except Exception as exc:  # noqa: BLE001 - doctor reports every failure as one line
        result["error"] = describe_error(exc, settings)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def describe_error(exc: BaseException, settings: Settings | None = None) -> str:
    """One line naming the error, with the key and any other secret masked."""
    text = scrub_message(" ".join(str(exc).split()))
    if settings is not None and settings.api_key is not None:
        secret = settings.api_key.get_secret_value()
        if secret:
            text = text.replace(secret, MASK)
    text = text[:200]  # masked first, so a key is never cut into an unmasked piece
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

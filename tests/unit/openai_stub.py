"""A tiny OpenAI-compatible HTTP endpoint on loopback for tests of the real ChatOpenAI path.

It records every request (path, headers, JSON body) and answers chat completions from a script:
each entry is a string (the answer's content), a (status, body) pair, or a callable taking the
request body. With the script empty it answers like a well-behaved model (`good_answer`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | tuple[int, dict[str, Any]] | Callable[[dict[str, Any]], Any]


def completion(
    content: str, model: str = "stub-model", finish_reason: str = "stop"
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def prompt_of(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    return str(messages[-1].get("content", "")) if messages else ""


def good_answer(body: dict[str, Any]) -> str:
    """A correct JSON answer for whichever role asked (read from the schema in the prompt)."""
    prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
    if '"title":"Plan"' in prompt:
        return json.dumps({"questions": ["How does a heat pump move heat?", "What does it cost?"]})
    if '"title":"Facts"' in prompt:
        # A good model copies a sentence from each source it was shown (facts are grounded).
        shown = re.findall(r"\[source_id: ([^\]]+)\][^\n]*\n([^\n]+?\.)(?:\s|$)", prompt)[:2]
        return json.dumps({"facts": [{"source_id": i, "text": text} for i, text in shown]})
    if '"title":"Draft"' in prompt:
        ids = re.findall(r"^(F\d+): ", prompt, re.MULTILINE)
        return json.dumps({"summary": "Heat pumps move heat; the facts say how.", "fact_ids": ids})
    if '"title":"Review"' in prompt:
        return json.dumps({"passed": True, "findings": []})
    return "OK"


@dataclass
class Stub:
    url: str
    script: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]


@contextmanager
def openai_stub(*script: Reply) -> Iterator[Stub]:
    stub = Stub(url="", script=list(script))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client was killed mid-call (tests/integration/test_random_kill.py)

        def do_GET(self):  # noqa: N802 - http.server's naming
            with lock:
                stub.requests.append({"path": self.path, "headers": dict(self.headers)})
            if self.path.endswith("/models"):
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": [
                            {
                                "id": "stub-model",
                                "object": "model",
                                "created": 0,
                                "owned_by": "test",
                            }
                        ],
                    },
                )
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with lock:
                stub.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                reply: Reply = stub.script.pop(0) if stub.script else good_answer
            if callable(reply):
                reply = reply(body)
            if isinstance(reply, tuple):
                self._send(*reply)
            else:
                self._send(200, completion(str(reply), body.get("model", "stub-model")))

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()

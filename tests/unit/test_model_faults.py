"""Hostile model endpoints: HARNESS_MODEL_TIMEOUT bounds the whole call (not each read), a
deeply nested answer is a bad answer (not a RecursionError retried as a network error), and a
huge answer is refused before it is scanned."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import BaseModel

from app.config import Settings
from app.models.chat import ModelCaller, ModelTimeout, within
from app.models.parsing import MAX_ANSWER_CHARS, AnswerParseError, parse_answer
from tests.unit.openai_stub import openai_stub


class Plan(BaseModel):
    questions: list[str]


def test_within_gives_up_at_the_deadline_and_passes_results_and_errors_through():
    release = threading.Event()
    with pytest.raises(ModelTimeout, match="within 0.2 s"):
        within(0.2, release.wait, 60)
    release.set()
    assert within(5, lambda x: x + 1, 1) == 2
    with pytest.raises(KeyError):
        within(5, {}.__getitem__, "missing")


def test_an_endpoint_dripping_one_byte_at_a_time_is_cut_off_by_the_timeout(tmp_path):
    stop = threading.Event()

    class Drip(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            # Each byte arrives well within the read timeout; the whole body never does.
            while not stop.wait(0.05):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = Settings.from_env(
            {},
            home=tmp_path,
            model="stub-model",
            base_url=f"http://127.0.0.1:{server.server_address[1]}/v1",
            model_timeout=1.0,
        )
        caller = ModelCaller.from_settings(settings)
        with pytest.raises(ModelTimeout):  # not the minutes a per-read timeout would allow
            caller.ask("Plan the report.", Plan)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def test_a_deeply_nested_answer_is_a_bad_answer_not_a_crash(tmp_path):
    nested = "[" * 50_000 + "]" * 50_000
    with openai_stub(nested, nested, nested, nested, nested, nested) as stub:
        settings = Settings.from_env({}, home=tmp_path, model="stub-model", base_url=stub.url)
        answer = ModelCaller.from_settings(settings).ask("Plan the report.", Plan)
    assert answer.value is None and answer.problem  # recorded and repaired once, not raised


def test_a_huge_answer_is_refused_quickly():
    with pytest.raises(AnswerParseError, match="longer than"):  # refused before any scan
        parse_answer('{"questions": ["' + "x" * 1_000_000 + '"]}', Plan)
    just_fits = '{"questions": ["' + "y" * (MAX_ANSWER_CHARS - 100) + '"]}'
    assert len(parse_answer(just_fits, Plan).questions) == 1

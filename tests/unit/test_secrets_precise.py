"""Redaction is precise: credentials are masked wherever they would be stored, plain words
that happen to be a local server's placeholder key are not."""

from __future__ import annotations

import base64

from app.config import Settings
from app.safety.secrets import MASK, scrub, scrub_message, secret_values
from app.service.runs import Harness
from tests.conftest import TOPIC

DOCS = [
    {
        "title": "How heat pumps work",
        "content": "Heat pumps move heat from outside air into a building. "
        "A heat pump uses a refrigerant cycle to carry heat. Ollama serves local models.",
    },
    {
        "title": "Heat pump costs",
        "content": "Heat pumps cost more to install than gas boilers. "
        "Heat pumps save energy over the years they work.",
    },
]


def test_a_placeholder_key_that_is_a_word_is_not_redacted_in_reports(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "ollama")
    assert "ollama" not in secret_values()
    h = Harness.in_memory(Settings.from_env({}, home=tmp_path, retry_initial_interval=0))
    run = h.approve(h.start("Heat pumps and ollama", documents=DOCS).run_id)
    assert MASK not in run.values["draft"] and MASK not in run.report_path
    assert "ollama" in run.values["topic"] and "ollama" in run.report_path
    # ... but it is still masked where it stands as a credential in an error message.
    assert "ollama" not in scrub_message("401: invalid header Authorization: Bearer ollama")


def test_configured_secrets_in_inline_sources_and_decisions_are_masked(monkeypatch, tmp_path):
    key = "sk-test-7f3a9c2e5b1d4f60"
    monkeypatch.setenv("HARNESS_API_KEY", key)
    h = Harness.in_memory(Settings.from_env({}, home=tmp_path, retry_initial_interval=0))
    docs = [{**DOCS[0], "content": DOCS[0]["content"] + f" The key is {key}."}, DOCS[1]]
    run = h.start(TOPIC, documents=docs)
    assert key not in repr(h.graph().get_state(h._config(run.run_id)).values)
    run = h.reject(run.run_id, feedback=f"do not mention {key}")
    assert key not in repr(run.values) and MASK in run.values["feedback"][0]


def test_url_credentials_are_masked_in_plain_and_basic_auth_form():
    env = {"HARNESS_BASE_URL": "http://alice:pa55word@llm.local/v1", "HARNESS_HOME": "/x"}
    values = secret_values(env)
    basic = base64.b64encode(b"alice:pa55word").decode()
    assert "pa55word" in values and basic in values
    text = scrub(f"sent Authorization: Basic {basic} to http://alice:pa55word@llm.local", values)
    assert "pa55word" not in text and basic not in text


def test_a_key_set_or_changed_between_two_runs_in_one_process_is_masked(monkeypatch):
    # The environment's secrets are cached for speed; the cache must follow the environment.
    monkeypatch.setenv("FIRST_API_KEY", "sk-first-0123456789")
    assert scrub("used sk-first-0123456789") == f"used {MASK}"
    monkeypatch.setenv("FIRST_API_KEY", "sk-second-987654321")
    monkeypatch.setenv("DB_URL", "postgresql://app:hunter22@db/x")
    assert scrub("sk-second-987654321 and hunter22") == f"{MASK} and {MASK}"
    monkeypatch.delenv("FIRST_API_KEY")
    assert scrub("sk-second-987654321") == "sk-second-987654321"  # no longer a secret here

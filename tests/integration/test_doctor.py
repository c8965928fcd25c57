"""`harness doctor` through the real console script: offline, a working endpoint, a dead one."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli
from tests.integration.local_llm import free_port
from tests.unit.openai_stub import openai_stub

pytestmark = pytest.mark.integration

KEY = "sk-test-doctor-" + "x" * 20


def test_offline_doctor_shows_the_settings_and_exits_0() -> None:
    result = run_cli("doctor")
    assert result.returncode == 0, result.stderr
    assert "Roles: offline" in result.stdout
    assert "no model configured" in result.stdout
    data = json.loads(run_cli("doctor", "--json").stdout)
    assert data["ok"] is True and data["endpoint"] is None
    assert data["settings"]["api_key"] == "not set"


def test_doctor_checks_a_working_endpoint_with_one_small_call() -> None:
    with openai_stub("OK") as stub:
        env = {"HARNESS_BASE_URL": stub.url, "HARNESS_API_KEY": KEY}
        result = run_cli("doctor", "--json", env=env)
        human = run_cli("doctor", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert data["endpoint"]["model"] == "stub-model"  # found on the server's /models
    assert data["roles"].startswith("openai-compatible:stub-model@127.0.0.1:")
    assert data["settings"]["api_key"] == "set"
    [call, *_] = stub.chat_requests()
    assert call["body"]["max_tokens"] <= 16  # a small call
    assert human.returncode == 0 and "Endpoint: OK" in human.stdout
    assert KEY not in result.stdout + result.stderr + human.stdout + human.stderr


def test_a_dead_endpoint_fails_with_one_clear_line() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    result = run_cli("doctor", env={"HARNESS_BASE_URL": url, "HARNESS_MODEL": "m"})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("error: model endpoint check failed")
    assert "ConnectionError: Connection error" in lines[0]


def test_an_endpoint_error_is_reported_in_json_too() -> None:
    with openai_stub((503, {"error": {"message": "overloaded"}})) as stub:
        result = run_cli(
            "doctor", "--json", env={"HARNESS_BASE_URL": stub.url, "HARNESS_MODEL": "m"}
        )
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and "503 - overloaded" in data["endpoint"]["error"]


def test_a_password_in_the_base_url_is_not_shown() -> None:
    url = f"http://user:hunter2secret@127.0.0.1:{free_port()}/v1"
    result = run_cli("doctor", "--json", env={"HARNESS_BASE_URL": url, "HARNESS_MODEL": "m"})
    assert "hunter2secret" not in result.stdout + result.stderr
    assert json.loads(result.stdout)["settings"]["base_url"].startswith("http://user:***@")

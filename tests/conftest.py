"""Shared fixtures: an isolated HARNESS_HOME per test, fast retries, and the real console script."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.service.runs import Harness

REPO = Path(__file__).resolve().parents[1]
HARNESS_BIN = Path(sys.executable).parent / "harness"
TOPIC = "How do heat pumps work?"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer settings leak in: no model, no Postgres, a fresh home per test."""
    for name in list(os.environ):
        if name.startswith(("HARNESS_", "OPENAI_")) and name not in (
            "HARNESS_TEST_POSTGRES_URL",
            "HARNESS_REQUIRE_LOCAL_LLM",
            "HARNESS_REQUIRE_SERVER",
            "HARNESS_MODEL_CACHE",
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HARNESS_RETRY_INTERVAL", "0")
    monkeypatch.setenv("LANGSMITH_TRACING", "false")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(home=tmp_path / "home", retry_initial_interval=0)


@pytest.fixture
def harness(settings: Settings) -> Harness:
    """The Python API on an in-memory checkpointer (fast, for graph-path tests)."""
    return Harness.in_memory(settings)


@pytest.fixture
def sqlite_harness(settings: Settings) -> Iterator[Harness]:
    """The Python API on the real SQLite file under HARNESS_HOME."""
    with Harness.open(settings) as h:
        yield h


def run_cli(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed `harness` console script in a separate process."""
    return subprocess.run(
        [str(HARNESS_BIN), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        input=input,
        timeout=timeout,
        cwd=REPO,
    )


@pytest.fixture
def cli():
    return run_cli


# -- PostgreSQL: a throwaway database per test session ----------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database made from HARNESS_TEST_POSTGRES_URL, dropped at the end of the session.

    Skips with a reason when the variable is unset; when it is set (CI) the tests run."""
    base = os.environ.get("HARNESS_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("HARNESS_TEST_POSTGRES_URL is not set (CI sets it to a local PostgreSQL)")
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = f"harness_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file converted for a section index, by its path in the corpus."""
    from app.research import index as index_module

    read: list[str] = []
    real = index_module.read_file

    def counting(root, rel, doc_id):
        read.append(rel)
        return real(root, rel, doc_id)

    monkeypatch.setattr(index_module, "read_file", counting)
    return read

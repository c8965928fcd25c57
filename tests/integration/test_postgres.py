"""Scale-out on PostgreSQL: any worker process can start, approve, list or show any run.

Runs when HARNESS_TEST_POSTGRES_URL is set (CI); each session works in a throwaway database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from app.config import Settings
from app.errors import InputError
from app.service.runs import Harness
from app.store.postgres import open_postgres_store, redact
from tests.conftest import REPO, TOPIC, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def _env(url: str, home: Path, output_root: Path) -> dict[str, str]:
    return {
        "HARNESS_DATABASE_URL": url,
        "HARNESS_HOME": str(home),  # different per process: nothing is shared through files
        "HARNESS_OUTPUT_ROOT": str(output_root),  # workers share the reports volume
    }


def _workers(
    command: str, batches: list[list[str]], env: dict[str, str], timeout: float = 120
) -> list[dict]:
    """Start one process per batch; all begin their work at the same moment."""
    go_at = time.time() + 2.5  # after every process has imported the harness
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.integration.workers", command, str(go_at), *batch],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for batch in batches
    ]
    results = []
    deadline = time.monotonic() + timeout
    for proc in procs:
        out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        results += [json.loads(line) for line in out.splitlines() if line.strip()]
    return results


def test_process_a_runs_b_approves_c_lists_and_shows(postgres_url, tmp_path):
    output_root = tmp_path / "shared-reports"
    a = _env(postgres_url, tmp_path / "a", output_root)
    started = run_cli("run", TOPIC, "--no-input", "--json", env=a)
    assert started.returncode == 0, started.stderr
    run = json.loads(started.stdout)
    assert run["status"] == "waiting_approval"
    assert not (tmp_path / "a" / "harness.sqlite").exists()  # the run lives in Postgres

    b = _env(postgres_url, tmp_path / "b", output_root)
    approved = run_cli("approve", run["run_id"][:8], "--by", "worker-b", "--json", env=b)
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["status"] == "completed"

    c = _env(postgres_url, tmp_path / "c", output_root)
    listed = run_cli("list", "--json", "--limit", "1000", env=c)
    assert listed.returncode == 0, listed.stderr
    assert run["run_id"] in [r["run_id"] for r in json.loads(listed.stdout)]
    shown = run_cli("show", run["run_id"], "--json", env=c)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["status"] == "completed"
    report = Path(data["report"]["path"])
    assert report.parent == output_root.resolve()
    assert report.read_text(encoding="utf-8") == data["values"]["draft"]
    approvals = [e for e in data["values"]["trace"] if e["event"] == "approval_granted"]
    assert [e["by"] for e in approvals] == ["worker-b"]
    again = run_cli("approve", run["run_id"], env=a)  # process A, later: already decided
    assert again.returncode == 2 and "already" in again.stderr


def test_twenty_runs_from_several_processes_none_lost_or_mixed(postgres_url, tmp_path):
    output_root = tmp_path / "shared-reports"
    topics = [f"Heat pump question {i:02d}: {word}" for i, word in enumerate(
        "noise defrost sizing cost refrigerant grid history cold cop ground "
        "air water maintenance install radiators flow tariffs boilers ducts storage".split()
    )]
    assert len(topics) == 20
    env = _env(postgres_url, tmp_path / "home", output_root)
    started = _workers("start", [topics[i::4] for i in range(4)], env)
    assert len(started) == 20
    assert all(r["ok"] and r["status"] == "waiting_approval" for r in started), started
    run_ids = {r["item"]: r["run_id"] for r in started}
    assert len(set(run_ids.values())) == 20

    ids = list(run_ids.values())
    approved = _workers("approve", [ids[i::4] for i in range(4)], env)
    assert sorted(r["run_id"] for r in approved) == sorted(ids)
    assert all(r["ok"] and r["status"] == "completed" for r in approved), approved

    settings = Settings.from_env(database_url=postgres_url, home=tmp_path / "check",
                                 output_root=output_root)
    with Harness.open(settings) as h:
        listed = {r.run_id for r in h.list(10_000)}
        assert set(ids) <= listed
        for topic, run_id in run_ids.items():
            run = h.get(run_id)
            assert run.status == "completed" and run.topic == topic
            assert run.values["topic"] == topic
            text = Path(run.report_path).read_text(encoding="utf-8")
            assert text.startswith(f"# {topic}\n")  # its own report, not another run's
            events = [e["event"] for e in run.trace]
            assert events.count("approval_granted") == 1
            assert events.count("report_written") == 1
            assert events.count("run_completed") == 1
    assert len(list(output_root.glob("*.md"))) == 20


def test_setup_from_several_processes_at_once_on_an_empty_database(postgres_url, tmp_path):
    base = os.environ["HARNESS_TEST_POSTGRES_URL"]
    name = f"harness_setup_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
        env = _env(url, tmp_path / "home", tmp_path / "reports")
        go_at = time.time() + 2.5
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.integration.workers", "cli", str(go_at),
                 "list", "--json"],
                cwd=REPO, env={**os.environ, **env}, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
            for _ in range(6)
        ]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            assert json.loads(out) == []
        with psycopg.connect(url, autocommit=True) as conn:
            tables = {r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()}
            migrations = conn.execute("SELECT count(*) FROM checkpoint_migrations").fetchone()[0]
        assert {"checkpoints", "checkpoint_writes", "harness_runs", "harness_decisions"} <= tables
        from langgraph.checkpoint.postgres import PostgresSaver

        assert migrations == len(PostgresSaver.MIGRATIONS)  # each migration ran exactly once
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_python_api_on_postgres_reject_redraft_and_approve(postgres_url, tmp_path):
    settings = Settings.from_env(database_url=postgres_url, home=tmp_path / "home",
                                 retry_initial_interval=0)
    with Harness.open(settings) as h:
        assert h.store.description.startswith("postgres:")
        run = h.start(TOPIC)
        run = h.reject(run.run_id, feedback="Say more about noise")
        assert run.status == "waiting_approval" and run.values["revisions"] == 1
        run = h.approve(run.run_id)
        assert run.status == "completed"
    with Harness.open(settings) as h:  # a new connection sees the finished run
        again = h.get(run.run_id)
        assert again.values["report"]["sha256"] == run.values["report"]["sha256"]
        assert "Say more about noise" in Path(again.report_path).read_text(encoding="utf-8")


def test_bad_database_urls_are_one_line_errors_without_the_password(postgres_url):
    secret = "pw-that-must-not-show"
    bad = f"postgresql://nobody:{secret}@127.0.0.1:1/nothing"
    result = run_cli("list", env={"HARNESS_DATABASE_URL": bad})
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot connect to postgresql://nobody:***@")
    assert secret not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    with pytest.raises(InputError, match="must start with postgresql://"):
        with open_postgres_store("mysql://root@localhost/x"):
            pass
    assert redact(f"postgresql://u:{secret}@h:5432/db") == "postgresql://u:***@h:5432/db"

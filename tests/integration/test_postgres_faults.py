"""PostgreSQL going away in the middle of a run: one `error:` line, no traceback, and the run
finishes with `resume` once the database is reachable again."""

from __future__ import annotations

import os
import subprocess
import threading

import psycopg
import pytest

from app.config import Settings
from app.service.runs import Harness
from tests.conftest import HARNESS_BIN, REPO, TOPIC
from tests.unit.openai_stub import good_answer, openai_stub

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_connections_killed_mid_run_leave_it_resumable(tmp_path, postgres_url):
    model_called = threading.Event()
    release = threading.Event()

    def held_answer(body):
        model_called.set()
        release.wait(60)  # the run is inside a model step while its connections are cut
        return good_answer(body)

    topic = f"{TOPIC} [{tmp_path.name}]"  # the session's database holds other tests' runs

    with openai_stub(held_answer) as stub:
        env = {
            **os.environ,
            "HARNESS_HOME": str(tmp_path / "home"),
            "HARNESS_OUTPUT_ROOT": str(tmp_path / "out"),
            "HARNESS_DATABASE_URL": postgres_url,
            "HARNESS_MODEL": "stub-model",
            "HARNESS_BASE_URL": stub.url,
            "HARNESS_RETRY_INTERVAL": "0",
        }
        proc = subprocess.Popen(
            [str(HARNESS_BIN), "run", topic, "--yes"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert model_called.wait(120), "the run never reached its first model call"
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            release.set()
            stderr = proc.stderr.read()
            assert proc.wait(timeout=120) == 2, stderr
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
        assert "Traceback" not in stderr
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and "resume" in lines[0], stderr

        settings = Settings.from_env({k: v for k, v in env.items() if k.startswith("HARNESS_")})
        with Harness.open(settings) as h:
            (run,) = [r for r in h.list(10_000) if r.topic == topic]
            assert run.status == "interrupted"
            resumed = h.resume(run.run_id)
            if resumed.status == "waiting_approval":
                resumed = h.approve(run.run_id)
            assert resumed.status == "completed"
            assert len(list((tmp_path / "out").iterdir())) == 1

"""Runs live in the SQLite file under HARNESS_HOME and survive the process that made them."""

import subprocess
import sys

import pytest

from app.service.runs import Harness

pytestmark = pytest.mark.integration
TOPIC = "How do heat pumps work?"


def test_a_new_process_finds_and_approves_a_run_from_the_file(settings):
    script = (
        "from app.service.runs import Harness\n"
        f"with Harness.open() as h: print(h.start({TOPIC!r}).run_id)\n"
    )
    env = {"HARNESS_HOME": str(settings.home), "PATH": ""}
    made = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    run_id = made.stdout.strip()
    assert settings.sqlite_path.is_file()

    with Harness.open(settings) as h:
        run = h.get(run_id)
        assert run.status == "waiting_approval"
        done = h.approve(run_id)
    assert done.status == "completed"
    with Harness.open(settings) as h:  # and the result is in the file for the next one
        assert h.get(run_id).values["report"]["sha256"] == done.values["report"]["sha256"]


def test_list_is_newest_first_and_prefix_ids_work(sqlite_harness):
    first = sqlite_harness.start(TOPIC)
    second = sqlite_harness.start("heat pump noise")
    assert [r.run_id for r in sqlite_harness.list()] == [second.run_id, first.run_id]
    assert sqlite_harness.get(first.run_id[:8]).run_id == first.run_id
    assert sqlite_harness.get(None).run_id == second.run_id  # --latest

"""Exactly one answer per gate takes effect when the graph itself is resumed by two processes at
once, with no Python API (and its registry claim) in front: as a server that does not serialise
runs per thread (Aegra) would run it. On PostgreSQL and on the SQLite file alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.config import Settings
from app.service.runs import Harness
from tests.conftest import REPO, TOPIC
from tests.integration.test_concurrent_approval import store_env  # noqa: F401, F811 (fixture)

pytestmark = pytest.mark.integration
ROUNDS = 3
EDITED = "# Edited by B\n\nB's version.\n"
ANSWERS = {
    "a": {"decision": "approve", "by": "A"},
    "b": {
        "decisions": [
            {
                "type": "edit",
                "edited_action": {"name": "write_report", "args": {"markdown": EDITED}},
            }
        ],
        "by": "B",
    },
}


def _resume_together(thread_id: str, env: dict[str, str], collide: bool) -> dict[str, dict]:
    go_at = time.time() + 2.0  # both processes have imported everything by then
    if collide:
        # Both are inside the gate with a valid answer before either claims it.
        env = {**env, "HARNESS_TEST_BLOCK_IN": "gate_claim", "HARNESS_TEST_BLOCK_SECONDS": "1.5"}
    procs = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.workers",
                "resume",
                str(go_at),
                thread_id,
                json.dumps(answer),
            ],
            cwd=REPO,
            env={**os.environ, **env},
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, answer in ANSWERS.items()
    }
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
        results[name] = json.loads(out.strip().splitlines()[-1])
    return results


def test_two_processes_resume_one_gate_and_one_answer_takes_effect(store_env):  # noqa: F811
    out = Path(store_env["HARNESS_OUTPUT_ROOT"])
    settings = Settings.from_env(store_env)
    for round_no in range(ROUNDS):
        with Harness.open(settings) as h:
            run = h.start(f"{TOPIC} round {round_no}")
            draft = run.pending["draft"]
        collide = round_no < 2  # the last round: whatever interleaving the scheduler gives
        results = _resume_together(run.run_id, store_env, collide=collide)
        with Harness.open(settings) as h:
            final = h.get(run.run_id)
            claim = h.store.registry.claimed_decision(run.run_id, run.interrupt_id)
        winner = "a" if claim["by"] == "A" else "b"
        loser = "b" if winner == "a" else "a"
        assert results[winner]["status"] == "completed", results
        # The loser was refused at the gate (nothing saved); or came after the winner had
        # finished and found nothing to resume; or came while the winner was writing, found the
        # thread past the gate and ran its last steps too (LangGraph resumes the pending
        # `finalize_report`; the loser's answer is never read), writing nothing new: the same
        # bytes are "already written". Never a second report or a second decision either way.
        if collide:  # both were inside the gate: the loser's claim failed there
            assert "already decided" in (results[loser]["refused"] or ""), results
        if results[loser]["refused"] is not None:
            assert "already decided" in results[loser]["refused"], results
        else:
            assert results[loser]["report"] == results[winner]["report"], results
        assert final.status == "completed"
        assert final.values["approval"]["by"] == claim["by"]
        events = [e["event"] for e in final.trace]
        assert events.count("approval_granted") == 1
        # The thread's newest branch records the write once: as written, or (the third case,
        # when the loser's branch is the newer one) as already written by the winner.
        assert events.count("report_written") + events.count("report_already_written") == 1
        written = Path(final.report_path).read_text()
        assert written == (draft if winner == "a" else EDITED)
    assert len(list(out.glob("*.md"))) == ROUNDS  # one report per run, none twice

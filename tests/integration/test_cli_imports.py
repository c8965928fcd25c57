"""Commands that only look at runs load only what they need.

`harness --help`, `list` and `show` ran with the whole graph machinery loaded (langgraph.graph,
the model client, `openai`): about 1.8 s of CPU before doing anything. Then LangGraph's
checkpoint saver and langchain-core (~0.5 s): on the SQLite store, commands that only print runs
read its rows without them. This checks behaviour, not time: each command runs in a fresh
interpreter that then reports which modules it loaded. The time itself is measured by
bench/bench_cli_startup.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.service.runs import Harness
from tests.conftest import REPO, TOPIC
from tests.helpers import add_value_only_langgraph_decodes

pytestmark = pytest.mark.integration

HEAVY = (
    "langgraph.graph",
    "langgraph.pregel",
    "langgraph.types",
    "langchain_openai",
    "openai",
    "rank_bm25",
    "app.models.chat",
    "app.nodes.steps",
    "graphs.harness",
)

# Not one module of these packages, for commands that only print runs on SQLite.
PACKAGES = ("langchain_core", "langgraph", "langsmith", "requests")

PROBE = """
import json, sys
args, watched = json.loads(sys.argv[1]), json.loads(sys.argv[2])
packages = tuple(json.loads(sys.argv[3]))
sys.argv = ["harness", *args]
from app.cli.main import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
loaded = [m for m in watched if m in sys.modules]
from_packages = sorted(m for m in sys.modules if m.split(".")[0] in packages)
print("\\nPROBE " + json.dumps({"code": code, "loaded": loaded, "packages": from_packages}))
"""


def probe(*args: str) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            json.dumps(list(args)),
            json.dumps(HEAVY),
            json.dumps(PACKAGES),
        ],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = [x for x in proc.stdout.splitlines() if x.startswith("PROBE ")]
    assert line, proc.stdout[-2000:] + proc.stderr[-2000:]
    return {**json.loads(line[-1][6:]), "out": proc.stdout}


@pytest.fixture
def runs(settings):
    with Harness.open(settings) as h:
        done = h.start(TOPIC)
        h.approve(done.run_id)
        waiting = h.start("Heat pump noise")
    return done.run_id, waiting.run_id


def test_help_list_and_show_do_not_load_the_graph_or_the_model_client(runs):
    done, waiting = runs
    for args in (
        ("--help",),
        ("list",),
        ("list", "--json"),
        ("show", done),
        ("show", waiting),
        ("show", "--latest", "--json"),
        ("summary", done),
        ("pending", waiting),
        ("history", done, "--tail", "3"),
    ):
        result = probe(*args)
        assert result["code"] == 0, (args, result["out"][-2000:])
        assert result["loaded"] == [], f"harness {' '.join(args)} loaded {result['loaded']}"
        # Nor LangGraph's saver or langchain-core: the SQLite rows are read without them.
        assert result["packages"] == [], f"harness {' '.join(args)} loaded {result['packages']}"
    listed = probe("list")["out"]
    assert done in listed and waiting in listed and "waiting_approval" in listed


def test_commands_that_move_a_run_still_load_what_they_need(runs):
    _done, waiting = runs
    result = probe("approve", waiting)
    assert result["code"] == 0, result["out"][-2000:]
    assert "langgraph.graph" in result["loaded"]
    assert "completed" in result["out"]
    # Offline roles (no model set) need no model client: it was a third of the start-up.
    assert "openai" not in result["loaded"] and "langchain_openai" not in result["loaded"]


def test_an_offline_run_loads_no_model_client(runs):
    result = probe("run", "Heat pump sizing", "--no-input")
    assert result["code"] == 0, result["out"][-2000:]
    assert "waiting_approval" in result["out"]
    assert "openai" not in result["loaded"] and "langchain_openai" not in result["loaded"]


def test_a_run_only_langgraph_can_decode_is_still_shown(runs, settings):
    """Where the SQLite rows hold a value only LangGraph's serializer decodes, `show` reads the
    run through the saver, as before, and prints the same thing."""
    done, _waiting = runs
    before = probe("show", done, "--json")
    add_value_only_langgraph_decodes(settings.sqlite_path, done)
    after = probe("show", done, "--json")
    assert after["code"] == 0, after["out"][-2000:]
    assert "langgraph.checkpoint.sqlite" in after["packages"]
    printed = [r["out"].split("\nPROBE ")[0] for r in (before, after)]
    assert printed[0] == printed[1] and done in printed[0]

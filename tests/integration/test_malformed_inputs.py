"""Malformed input across the CLI, the Python API and resume payloads: each one gets a clear
error (CLI: exit 2, an `error` line, no traceback; Python: a HarnessError), no run is created
and no stored run changes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from langgraph.types import Command

from app.config import Settings
from app.errors import AlreadyDecided, HarnessError, InputError, NotWaiting, RunNotFound
from app.service import timetravel
from app.service.runs import Harness
from tests.conftest import TOPIC, run_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """A store holding a waiting, a completed, a failed and a cancelled run, and bad files."""
    base = tmp_path_factory.mktemp("malformed")
    home = base / "home"
    settings = Settings.from_env({}, home=home, retry_initial_interval=0)
    with Harness.open(settings) as h:
        ids = {
            "waiting": h.start(TOPIC).run_id,
            "completed": h.approve(h.start("Heat pump noise").run_id).run_id,
            "failed": h.start(
                "Defrost", documents=[{"title": "Note", "content": "Nothing relevant."}]
            ).run_id,
            "cancelled": h.reject(h.start("Refrigerants").run_id).run_id,
        }
        assert h.get(ids["failed"]).status == "failed"
    files = base / "files"
    files.mkdir()
    (files / "empty.md").write_text("")
    (files / "binary.md").write_bytes(b"\x00\x01\x02\xff" * 100)
    (files / "malformed.json").write_text('[{"title": "a", "content": ')
    (files / "object.json").write_text('{"title": "a", "content": "b"}')
    (files / "wrong_types.json").write_text('[{"title": 1, "content": ["x"]}]')
    (files / "empty_list.json").write_text("[]")
    (files / "binary.json").write_bytes(b"\xff\xfe\x00\x00garbage")
    (files / "empty.json").write_text("")
    (files / "bad_policy.json").write_text('{"allowed_write_roots": "not-a-list"}')
    for name, content in (("empty_dir", None), ("binary_dir", b"\x00" * 64),
                          ("blank_dir", b"   \n"), ("huge_dir", b"a" * 2_100_000)):
        folder = files / name
        folder.mkdir()
        if content is not None:
            (folder / "doc.md").write_bytes(content)
    sparse = files / "sparse_dir"
    sparse.mkdir()
    with open(sparse / "huge.md", "wb") as handle:
        handle.truncate(40 * 1024**3)  # 40 GB of nothing: must never be read
    fifo = files / "policy.fifo"
    os.mkfifo(fifo)
    return {"settings": settings, "home": home, "ids": ids, "files": files, "base": base}


def _snapshot(world: dict) -> dict:
    with Harness.open(world["settings"]) as h:
        runs = {r.run_id: (r.status, r.checkpoint_id, json.dumps(r.values, sort_keys=True,
                                                                  default=str))
                for r in h.list(1000)}
    reports = sorted(p.name for p in world["settings"].reports_root.glob("*"))
    return {"runs": runs, "reports": reports}


@pytest.fixture
def unchanged(world):
    before = _snapshot(world)
    yield
    assert _snapshot(world) == before  # no run created, changed or damaged; no file written


# -- the command line -----------------------------------------------------------------------

CLI_CASES = [
    (["run", ""], "topic"),
    (["run", "   "], "topic"),
    (["run", "x" * 100_000], "longer than"),
    (["run", TOPIC, "--corpus", "{files}/no-such-folder"], "not found"),
    (["run", TOPIC, "--corpus", "{files}/empty.md"], "not a folder"),
    (["run", TOPIC, "--corpus", "{files}/empty_dir"], "no .md, .txt"),
    (["run", TOPIC, "--corpus", "{files}/binary_dir"], "corpus"),
    (["run", TOPIC, "--corpus", "{files}/blank_dir"], "corpus"),
    (["run", TOPIC, "--corpus", "{files}/huge_dir"], "corpus"),
    (["run", TOPIC, "--sources", "{files}/malformed.json"], "json"),
    (["run", TOPIC, "--sources", "{files}/object.json"], "list"),
    (["run", TOPIC, "--sources", "{files}/wrong_types.json"], "title"),
    (["run", TOPIC, "--sources", "{files}/empty_list.json"], "non-empty"),
    (["run", TOPIC, "--sources", "{files}/binary.json"], "sources"),
    (["run", TOPIC, "--sources", "{files}/empty.json"], "sources"),
    (["run", TOPIC, "--corpus", "{files}/empty_dir", "--sources", "{files}/object.json"],
     "only one"),
    (["run", TOPIC, "--mode", "sideways"], "unknown mode"),
    (["list", "--limit", "many"], "invalid value"),
    (["show", "no-such-run-id"], "no run"),
    (["approve", "no-such-run-id"], "no run"),
    (["approve"], "run id"),
    (["approve", "{waiting}", "--latest"], "not both"),
    (["approve", "{failed}"], "already failed"),
    (["approve", "{completed}"], "already completed"),
    (["reject", "{cancelled}", "--feedback", "again"], "already cancelled"),
    (["edit", "{waiting}", "--file", "{files}/empty.md"], "empty"),
    (["edit", "{waiting}", "--file", "{files}/binary.md"], "cannot read"),
    (["edit", "{waiting}"], "--file"),
    (["resume", "{waiting}"], "waiting for approval"),
    (["resume", "{completed}"], "nothing to resume"),
    (["history", "{waiting}", "--tail", "-1"], "zero or more"),
    (["replay", "{completed}", "--checkpoint", "not-a-checkpoint"], "does not exist"),
    (["fork", "{completed}"], "--checkpoint"),
    (["workflow", "--format", "pdf"], "json or mermaid"),
    # Hostile input (issue 13): one error line each, nothing stored.
    (["run", "heat \udcff pumps"], "not valid utf-8"),
    (["run", TOPIC, "--corpus", "{files}/sparse_dir"], "no readable text"),
    (["list", "--limit", "99999999999999999999"], "invalid value"),
    (["edit", "{waiting}", "--file", "/dev/zero"], "not a regular file"),
    (["run", TOPIC, "--sources", "/dev/zero"], "not a regular file"),
    (["run", TOPIC, "--sources", "{files}/policy.fifo"], "not a regular file"),
    (["run", TOPIC, "--output", "{files}/report.txt"], "must end in .md"),
    (["run", TOPIC, "--output", "/tmp/outside-the-root.md"], "outside the allowed roots"),
    (["show", "latest"], "no run with id 'latest'"),
]

ENV_CASES = [
    ({"HARNESS_POLICY_FILE": "{files}/bad_policy.json"}, "allowed_write_roots"),
    ({"HARNESS_RETRY_ATTEMPTS": "lots"}, "retry_attempts"),
    ({"HARNESS_MAX_REVISIONS": "-3"}, "max_revisions"),
    ({"HARNESS_DATABASE_URL": "mysql://root@localhost/harness"}, "postgresql://"),
    ({"HARNESS_POLICY_FILE": "/dev/zero"}, "not a regular file"),
    ({"HARNESS_POLICY_FILE": "{files}/policy.fifo"}, "not a regular file"),  # never blocks
]


def _fill(text: str, world: dict) -> str:
    return text.format(files=world["files"], **world["ids"])


@pytest.mark.parametrize(("args", "message"), CLI_CASES, ids=[" ".join(c[0])[:40]
                                                              for c in CLI_CASES])
def test_cli_mistakes(world, unchanged, args, message):
    result = run_cli(*[_fill(a, world) for a in args], env={"HARNESS_HOME": str(world["home"])})
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert "error" in result.stderr.lower()
    assert message.lower() in result.stderr.lower(), result.stderr


@pytest.mark.parametrize(("env", "message"), ENV_CASES, ids=[next(iter(c[0])) for c in ENV_CASES])
def test_bad_settings_in_the_environment(world, unchanged, env, message):
    env = {k: _fill(v, world) for k, v in env.items()}
    result = run_cli("list", env={"HARNESS_HOME": str(world["home"]), **env})
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr and "Traceback" not in result.stderr


# -- the Python API ---------------------------------------------------------------------------

API_CASES = [
    ("start None", lambda h, w: h.start(None), InputError),
    ("start int", lambda h, w: h.start(42), InputError),
    ("start huge", lambda h, w: h.start("y" * 10_000), InputError),
    ("documents not a list", lambda h, w: h.start(TOPIC, documents="text"), InputError),
    ("documents wrong items", lambda h, w: h.start(TOPIC, documents=[{"title": "t"}]),
     InputError),
    ("documents wrong types", lambda h, w: h.start(TOPIC, documents=[{"title": 1, "content": 2}]),
     InputError),
    ("corpus binary", lambda h, w: h.start(TOPIC, corpus=w["files"] / "binary_dir"), InputError),
    ("mode", lambda h, w: h.start(TOPIC, mode=3), InputError),
    ("duplicate run id", lambda h, w: h.start(TOPIC, run_id=w["ids"]["completed"]), InputError),
    ("get unknown", lambda h, w: h.get("nope-nope"), RunNotFound),
    ("get int", lambda h, w: h.get(12345), InputError),
    ("approve failed", lambda h, w: h.approve(w["ids"]["failed"]), AlreadyDecided),
    ("edit completed", lambda h, w: h.edit(w["ids"]["completed"], "# new"), AlreadyDecided),
    ("resume waiting", lambda h, w: h.resume(w["ids"]["waiting"]), NotWaiting),
    ("history tail", lambda h, w: h.history(w["ids"]["waiting"], tail=-5), InputError),
    ("fork unknown checkpoint", lambda h, w: timetravel.fork(h, w["ids"]["completed"], "x"),
     InputError),
    ("topic with NUL", lambda h, w: h.start("heat\x00pumps"), InputError),
    ("documents with NUL",
     lambda h, w: h.start(TOPIC, documents=[{"title": "t", "content": "a\x00b"}]), InputError),
    ("feedback with NUL", lambda h, w: h.reject(w["ids"]["waiting"], feedback="x\x00y"),
     InputError),
    ("edit with NUL", lambda h, w: h.edit(w["ids"]["waiting"], "# R\x00"), InputError),
    ("missing default corpus",
     lambda h, w: Harness(h.store, Settings.from_env({}, corpus=w["base"] / "gone")).start(TOPIC),
     InputError),
    ("fork feedback type", lambda h, w: timetravel.fork(h, w["ids"]["completed"], "x",
                                                        feedback=["a"]), InputError),
]

RESUME_PAYLOADS = [
    ("unknown decision", {"decision": "maybe"}),
    ("decision wrong type", {"decision": 1}),
    ("no decision", {}),
    ("edit without markdown", {"decision": "edit"}),
    ("edit blank markdown", {"decision": "edit", "markdown": "   "}),
    ("extra field", {"decision": "approve", "force": True}),
    ("feedback wrong type", {"decision": "reject", "feedback": ["more"]}),
    ("markdown wrong type", {"decision": "edit", "markdown": 7}),
    ("a string", "approve"),
    ("a list", ["approve"]),
    ("null", None),
]


@pytest.mark.parametrize(("name", "call", "error"), API_CASES, ids=[c[0] for c in API_CASES])
def test_python_api_mistakes(world, unchanged, name, call, error):
    with Harness.open(world["settings"]) as h:
        with pytest.raises(error) as caught:
            call(h, world)
    assert isinstance(caught.value, HarnessError) and str(caught.value)


@pytest.mark.parametrize(("name", "payload"), RESUME_PAYLOADS, ids=[c[0] for c in RESUME_PAYLOADS])
def test_bad_resume_payloads_through_the_api(world, unchanged, name, payload):
    with Harness.open(world["settings"]) as h:
        with pytest.raises(InputError, match="decision"):
            h.decide(world["ids"]["waiting"], payload)
        assert h.get(world["ids"]["waiting"]).status == "waiting_approval"


@pytest.mark.parametrize(("name", "payload"), RESUME_PAYLOADS[:8],
                         ids=[c[0] for c in RESUME_PAYLOADS[:8]])
def test_bad_resume_payloads_straight_to_the_graph(world, unchanged, name, payload):
    """Clients that bypass the facade (Studio, SDK) are asked again; nothing is decided."""
    with Harness.open(world["settings"]) as h:
        run_id = world["ids"]["waiting"]
        config = {"configurable": {"thread_id": run_id}}
        h.graph().invoke(Command(resume=payload), config)
        run = h.get(run_id)
        assert run.status == "waiting_approval"
        assert run.pending["validation_error"]
        assert run.values.get("approval") is None and run.values.get("report") is None


def test_after_bad_resumes_the_run_is_still_approvable(sqlite_harness):
    run = sqlite_harness.start(TOPIC)
    config = {"configurable": {"thread_id": run.run_id}}
    for payload in RESUME_PAYLOADS[:4]:
        sqlite_harness.graph().invoke(Command(resume=payload), config)
    with pytest.raises(InputError):
        sqlite_harness.decide(run.run_id, {"decision": "perhaps"})
    done = sqlite_harness.approve(run.run_id)
    assert done.status == "completed" and Path(done.report_path).is_file()

"""No value of an environment variable named *KEY*, *TOKEN* or *SECRET* ever appears in a
checkpoint (the raw store bytes), a trace, a report or anything the CLI prints."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import uuid
import zlib
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.config import Settings
from app.research.roles import Roles, offline_roles
from app.safety.secrets import scrub, secret_values
from app.service.runs import Harness
from app.state import json_default
from app.store.serde import SUFFIX
from tests.conftest import TOPIC, run_cli

pytestmark = pytest.mark.integration


def _secrets() -> dict[str, str]:
    tag = uuid.uuid4().hex
    return {
        "HARNESS_API_KEY": f"sk-harness-{tag}",
        "OPENAI_API_KEY": f"sk-openai-{tag}",
        "GITHUB_TOKEN": f"ghp_{tag}",
        "MY_SERVICE_SECRET": f"s3cr3t-{tag}",
        "AWS_SECRET_ACCESS_KEY": f"aws/{tag}",
    }


class _EchoingServer(BaseHTTPRequestHandler):
    """A model endpoint that rejects every call and quotes the caller's credentials back."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.dumps({"error": {"message": f"invalid key {self.headers.get('Authorization')}",
                                     "type": "invalid_request_error"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def echo_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _inflated(type_: str | None, value: bytes | None) -> bytes:
    """A stored value as it reads: large ones are zlib-compressed (app/store/serde.py), and a
    secret inside them would not show in the raw bytes."""
    if value is None:
        return b""
    return zlib.decompress(value) if (type_ or "").endswith(SUFFIX) else bytes(value)


def _everything_stored(home: Path, reports: Path) -> bytes:
    """Raw bytes of every file the harness left: the SQLite store (with its WAL), reports;
    and the store's compressed values inflated."""
    data = b""
    for root in (home, reports):
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file():
                data += path.read_bytes()
            if path.suffix == ".sqlite":
                with closing(sqlite3.connect(path)) as conn:
                    for query in ("SELECT type, checkpoint FROM checkpoints",
                                  "SELECT type, value FROM writes"):
                        data += b"".join(_inflated(t, v) for t, v in conn.execute(query))
    return data


def _assert_clean(blob: bytes | str, secrets: dict[str, str]) -> None:
    raw = blob.encode() if isinstance(blob, str) else blob
    for name, value in secrets.items():
        assert value.encode() not in raw, f"the value of {name} leaked"


def test_a_full_cli_cycle_keeps_every_secret_out(tmp_path, echo_server):
    secrets = _secrets()
    home, reports = tmp_path / "home", tmp_path / "reports"
    env = {
        **secrets,
        "HARNESS_HOME": str(home),
        "HARNESS_OUTPUT_ROOT": str(reports),
        "HARNESS_MODEL": "gpt-test",  # a model that answers every call with the key quoted back
        "HARNESS_BASE_URL": echo_server,
        "HARNESS_RETRY_ATTEMPTS": "2",
        "HARNESS_MODEL_TIMEOUT": "5",
    }
    printed = []
    made = run_cli("run", TOPIC, "--no-input", "--json", env=env)
    printed.append(made.stdout + made.stderr)
    run_id = json.loads(made.stdout)["run_id"]
    for args in (["approve", run_id], ["show", run_id, "--json"], ["history", run_id],
                 ["history", run_id, "--checkpoints", "--json"], ["summary", run_id],
                 ["list", "--json"], ["pending", run_id]):
        result = run_cli(*args, env=env)
        assert "Traceback" not in result.stderr
        printed.append(result.stdout + result.stderr)
    shown = json.loads(run_cli("show", run_id, "--json", env=env).stdout)
    assert shown["values"]["trace"]  # there is a trace to look into
    _assert_clean("\n".join(printed), secrets)
    _assert_clean(json.dumps(shown), secrets)
    _assert_clean(_everything_stored(home, reports), secrets)


class _LeakyPlanner:
    """Fails like an HTTP client that quotes the rejected credentials in its error."""

    provider = "leaky"

    def __init__(self, key: str):
        self.key = key

    def plan(self, topic: str) -> list[str]:
        raise RuntimeError(f"401 Unauthorized: Authorization: Bearer {self.key} was rejected")


def test_errors_that_quote_a_key_are_masked_in_trace_state_and_store(tmp_path, monkeypatch):
    secrets = _secrets()
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(home=tmp_path / "home", retry_initial_interval=0,
                                 retry_attempts=2)
    base = offline_roles()
    roles = Roles(_LeakyPlanner(secrets["HARNESS_API_KEY"]), base.facts, base.drafter,
                  base.reviewer)
    streamed: list[dict] = []
    with Harness.open(settings, roles=roles) as h:
        run = h.start(TOPIC, on_event=streamed.append)
    assert run.status == "failed" and run.values["error"]["step"] == "plan"
    assert "[redacted]" in run.values["error"]["message"]
    errors = [e for e in run.trace if e["event"] == "tool_error"]
    assert len(errors) == 2 and all("[redacted]" in e["error"] for e in errors)
    _assert_clean(json.dumps(run.values, default=json_default), secrets)
    _assert_clean(json.dumps(streamed), secrets)  # what the CLI and Studio see live
    _assert_clean(_everything_stored(tmp_path / "home", tmp_path / "none"), secrets)


@pytest.mark.postgres
def test_nothing_secret_in_the_postgres_tables(postgres_url, tmp_path, monkeypatch):
    import psycopg

    secrets = _secrets()
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(home=tmp_path / "home", database_url=postgres_url,
                                 retry_initial_interval=0, retry_attempts=1)
    base = offline_roles()
    roles = Roles(_LeakyPlanner(secrets["GITHUB_TOKEN"]), base.facts, base.drafter, base.reviewer)
    with Harness.open(settings, roles=roles) as h:
        failed = h.start(TOPIC)
    with Harness.open(settings) as h:
        done = h.approve(h.start(TOPIC).run_id)
    assert failed.status == "failed" and done.status == "completed"
    with psycopg.connect(postgres_url) as conn:
        dump = b""
        for table, column in (("checkpoints", "checkpoint::text || metadata::text"),
                              ("checkpoint_blobs", "blob"), ("checkpoint_writes", "blob"),
                              ("harness_runs", "topic"), ("harness_decisions", "decision")):
            typed = "type" if table in ("checkpoint_blobs", "checkpoint_writes") else "NULL"
            for kind, value in conn.execute(f"SELECT {typed}, {column} FROM {table}").fetchall():
                if value is not None:
                    dump += (_inflated(kind, value) if isinstance(value, bytes)
                             else str(value).encode())
    assert b"[redacted]" in dump  # the dump holds the failed run's (masked) error
    _assert_clean(dump, secrets)


def test_scrub_masks_env_secrets_and_url_passwords():
    env = {"API_KEY": "abcdef123", "HARNESS_DATABASE_URL": "postgresql://u:hunter22@db/x",
           "HOME": "/root", "SHORT_TOKEN": "abc"}
    values = secret_values(env)
    # The URL's password also in its HTTP Basic form: clients send it as base64("user:pw").
    assert set(values) == {"abcdef123", "hunter22", base64.b64encode(b"u:hunter22").decode()}
    text = {"a": ["key abcdef123", ("pw hunter22",)], "b": 3, "c": "/root abc"}
    assert scrub(text, values) == {"a": ["key [redacted]", ("pw [redacted]",)], "b": 3,
                                   "c": "/root abc"}

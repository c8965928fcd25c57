"""`harness delete` / `harness prune` and state by reference, on SQLite and PostgreSQL.

A run is stored in the saver's tables, the registry and the blob store; deleting it must leave
none of it behind (and nothing of other runs missing), and never touch a written report.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from app.config import Settings
from app.errors import InputError, RunNotFound
from app.service.retention import delete_run, prune
from app.service.runs import Harness
from tests.conftest import TOPIC

pytestmark = pytest.mark.integration


@pytest.fixture
def own_postgres_database(postgres_url: str) -> Iterator[str]:
    """A database for this test alone: prune and list see every run in their database, and the
    session's database holds other tests' runs."""
    import psycopg

    name = f"harness_retention_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_settings(request, tmp_path: Path) -> Settings:
    extra = {}
    if request.param == "postgres":
        extra["database_url"] = request.getfixturevalue("own_postgres_database")
    return Settings.from_env(home=tmp_path / "home", retry_initial_interval=0, **extra)


def documents(marker: str, n: int = 30) -> list[dict[str, str]]:
    return [
        {
            "title": f"Heat pump note {i}",
            "content": f"{marker} note {i}: heat pumps move heat with a refrigerant cycle; "
            "the coefficient of performance is often three or more. " * 4,
        }
        for i in range(n)
    ]


def checkpoints_of(h: Harness, run_id: str) -> int:
    return len(list(h.store.checkpointer.list({"configurable": {"thread_id": run_id}})))


def blob_count(h: Harness) -> int:
    return h.store.registry._run("SELECT count(*) FROM harness_blobs").fetchone()[0]


def test_delete_removes_checkpoints_registry_rows_and_blobs_but_not_the_report(store_settings):
    shared = documents("SHARED")
    with Harness.open(store_settings) as h:
        done = h.approve(h.start(TOPIC, documents=shared).run_id)
        other = h.approve(h.start(TOPIC, documents=shared).run_id)
        report = Path(done.report_path)
        assert report.exists() and checkpoints_of(h, done.run_id) >= 8
        assert blob_count(h) == 1  # the same documents, stored once for both runs

        removed = delete_run(h, done.run_id[:8])
        assert [r["run_id"] for r in removed.runs] == [done.run_id]
        assert checkpoints_of(h, done.run_id) == 0
        assert h.store.registry.get_run(done.run_id) is None
        assert h.store.blobs.digests(done.run_id) == []
        assert blob_count(h) == 1 and removed.blobs == 0  # still used by the other run
        assert report.exists()  # reports are never removed
        with pytest.raises(RunNotFound, match="no run with id"):
            h.get(done.run_id)

        # The other run is intact and still readable, blob included.
        assert h.get(other.run_id).status == "completed"
        again = delete_run(h, other.run_id)
        assert again.blobs == 1 and blob_count(h) == 0
        assert h.list() == []


def test_delete_refuses_an_unfinished_run_unless_forced(store_settings):
    with Harness.open(store_settings) as h:
        waiting = h.start(TOPIC)
        with pytest.raises(InputError, match="waiting_approval, not finished; add --force"):
            delete_run(h, waiting.run_id)
        assert h.get(waiting.run_id).status == "waiting_approval"
        h.store.registry.claim_decision(waiting.run_id, waiting.interrupt_id, {"decision": "x"})
        delete_run(h, waiting.run_id, force=True)
        assert checkpoints_of(h, waiting.run_id) == 0
        assert h.store.registry.claimed_decision(waiting.run_id, waiting.interrupt_id) is None


def test_prune_by_status_age_and_count_with_a_dry_run(store_settings):
    with Harness.open(store_settings) as h:
        completed = [h.approve(h.start(TOPIC).run_id).run_id for _ in range(4)]
        cancelled = h.reject(h.start(TOPIC).run_id).run_id
        waiting = h.start(TOPIC).run_id
        newest_first = [r.run_id for r in h.list(100)]

        dry = prune(h, keep=1, dry_run=True)
        finished_newest_first = [i for i in newest_first if i != waiting]
        assert [r["run_id"] for r in dry.runs] == finished_newest_first[1:]
        assert len(h.list(100)) == 6  # nothing removed by a dry run

        only_cancelled = prune(h, statuses=frozenset({"cancelled"}))
        assert [r["run_id"] for r in only_cancelled.runs] == [cancelled]

        assert prune(h, older_than=timedelta(days=1)).runs == []  # all are newer
        future = datetime.now(UTC) + timedelta(days=2)
        kept = prune(h, older_than=timedelta(days=1), keep=2, now=future)
        assert sorted(r["run_id"] for r in kept.runs) == sorted(completed[:2])
        assert sorted(r.run_id for r in h.list(100)) == sorted([*completed[2:], waiting])
        for run_id in completed[:2]:
            assert checkpoints_of(h, run_id) == 0

        with pytest.raises(InputError, match="needs at least one"):
            prune(h)


def test_inline_documents_are_stored_once_and_the_state_holds_a_reference(store_settings):
    docs = documents("UNIQUEMARKER-7f3a")
    with Harness.open(store_settings) as h:
        run = h.start(TOPIC, documents=docs)
        sources = run.values["sources"]
        assert sources["kind"] == "inline" and sources["count"] == len(docs)
        assert sources["ref"].startswith("sha256:") and "documents" not in sources
        assert sources["titles"][:2] == ["Heat pump note 0", "Heat pump note 1"]
        assert run.pending["review"]["passed"] is True  # the steps read the documents
        done = h.edit(run.run_id, "# Mine\n\nUNIQUEMARKER-7f3a was read.\n")
        assert done.status == "completed"
        # Resumable from another process-like Harness on the same store.
        forked_from = h.start(TOPIC, documents=docs)
    with Harness.open(store_settings) as h2:
        assert h2.approve(forked_from.run_id).status == "completed"
        assert json.loads(h2.store.blobs.get(sources["ref"]))[0]["title"] == "Heat pump note 0"


def test_raw_sqlite_bytes_hold_inline_documents_once(tmp_path):
    settings = Settings.from_env(home=tmp_path / "home", retry_initial_interval=0)
    docs = documents("RAWBYTESMARKER-91c2", n=5)
    with Harness.open(settings) as h:
        run = h.start(TOPIC, documents=docs)
        h.reject(run.run_id, feedback="Say more about noise")
        h.approve(run.run_id)
        h.store.registry._run("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = settings.sqlite_path.read_bytes()
    # Each whole document is in the file once (the blob); before, every checkpoint of the run
    # repeated all of them. (Facts and the draft quote single sentences, never a whole one.)
    for doc in docs:
        assert raw.count(doc["content"].encode()) == 1



def test_cli_delete_and_prune(settings, cli):
    with Harness.open(settings) as h:
        done = h.approve(h.start(TOPIC).run_id)
        old = h.approve(h.start(TOPIC).run_id)
        waiting = h.start(TOPIC)
    report = Path(done.report_path)

    refused = cli("delete", waiting.run_id)
    assert refused.returncode == 2 and refused.stderr.startswith("error:")
    assert "add --force" in refused.stderr and "Traceback" not in refused.stderr
    for bad, message in (
        (("prune",), "needs at least one"),
        (("prune", "--older-than", "soon"), "--older-than must look like"),
        (("prune", "--status", "done"), "unknown status done"),
        (("delete", "nosuchrun"), "no run with id"),
    ):
        result = cli(*bad)
        assert result.returncode == 2 and message in result.stderr, (bad, result.stderr)

    dry = cli("prune", "--keep", "1", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert [r["run_id"] for r in json.loads(dry.stdout)["runs"]] == [done.run_id]
    assert done.run_id in cli("list").stdout  # a dry run removes nothing

    pruned = cli("prune", "--keep", "1")
    assert pruned.returncode == 0 and f"Deleted {done.run_id}" in pruned.stdout
    deleted = cli("delete", old.run_id[:8])
    assert deleted.returncode == 0 and "Deleted 1 run(s)" in deleted.stdout
    listed = cli("list", "--json")
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [waiting.run_id]
    assert report.exists()

"""The embedded default store: a SQLite file under HARNESS_HOME (and memory for tests)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from app.config import Settings
from app.errors import InputError
from app.store.base import LazySaverStore, Store
from app.store.blobs import BlobStore
from app.store.registry import SqliteRegistry
from app.store.sqlite_rows import SqliteRows

if TYPE_CHECKING:
    from app.store.delta_walk import HarnessSqliteSaver


def connect_sqlite(path: str, *, autocommit: bool = True) -> sqlite3.Connection:
    # WAL lets a CLI process read while another writes; busy timeout instead of "locked" errors.
    # The checkpointer's connection is not autocommit: SqliteSaver commits once per put and per
    # put_writes, so all of a step's writes are one transaction (one fsync). In autocommit mode
    # every written channel was its own transaction, which tripled the time of a run
    # (bench/bench_overhead.py, docs/benchmarks.md).
    conn = sqlite3.connect(
        path, check_same_thread=False, timeout=30, isolation_level=None if autocommit else ""
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def sync_wal(db_path: str) -> None:
    """fsync the WAL file: every transaction committed in it so far survives a power loss."""
    try:
        fd = os.open(f"{db_path}-wal", os.O_RDONLY)
    except FileNotFoundError:
        return  # nothing written yet, or checkpointed and removed: already in the database
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DurableClaimRegistry(SqliteRegistry):
    """A claimed decision is on disk before the graph resumes to carry it out."""

    def __init__(self, conn: sqlite3.Connection, db_path: str):
        super().__init__(conn)
        self.db_path = db_path

    def claim_decision(self, run_id: str, interrupt_id: str, decision: dict[str, Any]) -> bool:
        claimed = super().claim_decision(run_id, interrupt_id, decision)
        if claimed:
            sync_wal(self.db_path)
        return claimed


@contextmanager
def open_sqlite_store(settings: Settings) -> Iterator[Store]:
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create HARNESS_HOME {settings.home}: {exc.strerror}") from None
    path = str(settings.sqlite_path)
    conns: list[sqlite3.Connection] = []
    try:
        conns.append(connect_sqlite(path, autocommit=False))
        conns.append(connect_sqlite(path))
        saver_conn, registry_conn = conns
        # Commits are not fsynced one by one (WAL + synchronous=NORMAL): a killed process loses
        # none of them (they are in the OS's cache; SQLite never corrupts in this mode). Only a
        # power loss or OS crash could roll back the commits since the last durable point, and
        # both connections append to one WAL, so what survives is always a prefix (a blob
        # before the checkpoint that names it). Durable points, one fsync of the WAL each: the
        # run's stop at the gate and at its end (`sync`) and the decision claim (before the
        # report can be written); the report file is fsynced by its writer. Steps redone after
        # such a loss are pure, and the report write is idempotent. 24 -> 4 fsyncs per run
        # (docs/benchmarks.md).
        for conn in conns:
            conn.execute("PRAGMA synchronous=NORMAL")
        registry = DurableClaimRegistry(registry_conn, path)
        registry.setup()
        blobs = BlobStore(registry, "BLOB")
        blobs.setup()
    except sqlite3.Error as exc:
        # A damaged or truncated file, a read-only home, a full disk: one clear line.
        for conn in conns:
            conn.close()
        raise InputError(f"cannot open the run store {path}: {exc}") from None

    def open_saver() -> HarnessSqliteSaver:
        # Set up when a command first needs the checkpointer: LangGraph's saver and serializer
        # load langchain-core, which `harness list` and `show` do without (they read `rows`).
        from app.store.delta_walk import HarnessSqliteSaver
        from app.store.serde import CompressedSerializer

        try:
            saver = HarnessSqliteSaver(saver_conn, serde=CompressedSerializer())
            saver.setup()
        except sqlite3.Error as exc:
            raise InputError(f"cannot open the run store {path}: {exc}") from None
        return saver

    try:
        yield LazySaverStore(
            None,
            registry,
            f"sqlite:{path}",
            blobs,
            sync=lambda: sync_wal(path),
            rows=SqliteRows(registry_conn),
            open_saver=open_saver,
        )
    finally:
        for conn in conns:
            conn.close()


def memory_store() -> Store:
    """Checkpoints in memory and the registry in an in-memory SQLite database (tests, notebooks)."""
    from langgraph.checkpoint.memory import InMemorySaver

    registry = SqliteRegistry(
        sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    )
    registry.setup()
    blobs = BlobStore(registry, "BLOB")
    blobs.setup()
    return Store(InMemorySaver(), registry, "memory", blobs)

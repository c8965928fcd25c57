"""The embedded default store: a SQLite file under HARNESS_HOME (and memory for tests)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from app.config import Settings
from app.errors import InputError
from app.store.base import Store
from app.store.blobs import BlobStore
from app.store.registry import SqliteRegistry


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


@contextmanager
def open_sqlite_store(settings: Settings) -> Iterator[Store]:
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create HARNESS_HOME {settings.home}: {exc.strerror}") from None
    path = str(settings.sqlite_path)
    saver_conn, registry_conn = connect_sqlite(path, autocommit=False), connect_sqlite(path)
    # Checkpoints between steps are committed without an fsync each (WAL + NORMAL): a killed
    # process loses none of them (they are in the OS's cache; SQLite never corrupts in this
    # mode), and only a power loss or OS crash could roll back the steps since the last durable
    # point. Durable points: the registry's commits (run registered, decision claimed; FULL,
    # and an fsync of the shared WAL covers every earlier commit) and `sync` when a run stops
    # at the gate or ends. Steps redone after such a loss are pure, and the report write is
    # idempotent (same bytes = already written). 24 -> 6 fsyncs per run (docs/benchmarks.md).
    saver_conn.execute("PRAGMA synchronous=NORMAL")
    try:
        saver = SqliteSaver(saver_conn)
        saver.setup()
        registry = SqliteRegistry(registry_conn)
        registry.setup()
        blobs = BlobStore(registry, "BLOB")
        blobs.setup()
        yield Store(saver, registry, f"sqlite:{path}", blobs, sync=lambda: sync_wal(path))
    finally:
        saver_conn.close()
        registry_conn.close()


def memory_store() -> Store:
    """Checkpoints in memory and the registry in an in-memory SQLite database (tests, notebooks)."""
    registry = SqliteRegistry(
        sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    )
    registry.setup()
    blobs = BlobStore(registry, "BLOB")
    blobs.setup()
    return Store(InMemorySaver(), registry, "memory", blobs)

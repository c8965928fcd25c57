"""The PostgreSQL store: LangGraph's PostgresSaver plus the run registry in the same database.

Selected by `HARNESS_DATABASE_URL=postgresql://...`. Every worker process that points at the same
database sees the same runs, so any of them can approve, resume, list or show any run.

The tables are created on first use. Several processes may start at the same moment against an
empty database, so setup is serialised with a PostgreSQL advisory lock. The lock is taken by
polling `pg_try_advisory_lock` rather than waiting in `pg_advisory_lock`: one of LangGraph's
migrations is `CREATE INDEX CONCURRENTLY`, which waits for every open transaction, including a
session blocked inside `pg_advisory_lock` - that would be a deadlock.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from app.errors import InputError
from app.store.base import Store
from app.store.blobs import BlobStore
from app.store.registry import PostgresRegistry
from app.store.serde import CompressedSerializer
from app.store.written import RecordsSaves

# An arbitrary constant: "harness setup" as a 63-bit advisory lock key.
SETUP_LOCK_KEY = 0x6861726E657373
SETUP_TIMEOUT_S = 120.0
CONNECT_TIMEOUT_S = 10


def redact(url: str) -> str:
    """The URL without its password, for messages and `doctor`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://(unparsable)"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


_USERINFO = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


def _without_password(text: str, url: str) -> str:
    """A driver message that may quote the connection string (psycopg does, for a malformed
    one), with the URL's password removed however the URL is written."""
    text = text.replace(url, redact(url))
    text = _USERINFO.sub(r"\1:***@", text)
    password = _password_of(url)
    return text.replace(password, "***") if password and len(password) >= 3 else text


def _password_of(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        match = re.search(r"://[^:/@\s]*:([^@\s]*)@", url)
        return match.group(1) if match else None


def _connect(url: str, **kwargs):
    import psycopg

    try:
        return psycopg.connect(
            url, autocommit=True, prepare_threshold=0, connect_timeout=CONNECT_TIMEOUT_S, **kwargs
        )
    except psycopg.OperationalError as exc:
        text = _without_password(str(exc).strip(), url)
        first = text.splitlines()[0] if text else type(exc).__name__
        raise InputError(f"cannot connect to {redact(url)}: {first}") from None
    except psycopg.Error as exc:  # a malformed URL: its message quotes the whole string
        text = _without_password(str(exc).strip(), url).splitlines()
        raise InputError(
            f"invalid HARNESS_DATABASE_URL {redact(url)}: {text[0] if text else 'unparsable'}"
        ) from None


def _is_set_up(conn, migrations: int) -> bool:
    row = conn.execute(
        "SELECT to_regclass('checkpoint_migrations') IS NOT NULL,"
        " to_regclass('harness_decisions') IS NOT NULL,"
        " to_regclass('harness_blob_refs') IS NOT NULL"
    ).fetchone()
    if not all(row):
        return False
    version = conn.execute("SELECT max(v) FROM checkpoint_migrations").fetchone()[0]
    return version is not None and version >= migrations - 1


def setup_database(saver, registry: PostgresRegistry, blobs: BlobStore, conn) -> None:
    """Create or migrate the tables once, whoever else is starting at the same moment."""
    migrations = len(saver.MIGRATIONS)

    def setup() -> None:
        saver.setup()
        registry.setup()
        blobs.setup()

    _setup_locked(conn, lambda: _is_set_up(conn, migrations), setup)


def _setup_locked(conn, is_set_up, setup) -> None:
    if is_set_up():
        return
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    while not conn.execute("SELECT pg_try_advisory_lock(%s)", (SETUP_LOCK_KEY,)).fetchone()[0]:
        if time.monotonic() > deadline:
            raise InputError("timed out waiting for another process to set up the database")
        time.sleep(0.05)
    try:
        if not is_set_up():
            setup()
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))


# psycopg logs a warning when it cleans up after a lost connection; without a handler Python
# prints it to stderr next to our own one-line error. The error itself is raised, not logged.
logging.getLogger("psycopg").addHandler(logging.NullHandler())


def open_postgres_registry(url: str) -> PostgresRegistry:
    """The registry alone (the approval gate's claims inside a server), kept open."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise InputError(f"HARNESS_DATABASE_URL must start with postgresql://, got {redact(url)}")
    conn = _connect(url)
    registry = PostgresRegistry(conn)

    def is_set_up() -> bool:
        return conn.execute("SELECT to_regclass('harness_decisions') IS NOT NULL").fetchone()[0]

    _setup_locked(conn, is_set_up, registry.setup)
    return registry


@contextmanager
def open_postgres_store(url: str) -> Iterator[Store]:
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
    except ImportError:
        raise InputError(
            "HARNESS_DATABASE_URL needs the postgres extra: pip install -e '.[postgres]'"
        ) from None
    if not url.startswith(("postgresql://", "postgres://")):
        raise InputError(f"HARNESS_DATABASE_URL must start with postgresql://, got {redact(url)}")

    class HarnessPostgresSaver(RecordsSaves, PostgresSaver):
        """LangGraph's saver (an optional extra, imported here), telling a run of the graph
        which checkpoints it saved (app/store/written.py)."""

    saver_conn = _connect(url, row_factory=dict_row)
    registry_conn = None
    try:
        registry_conn = _connect(url)
        saver = HarnessPostgresSaver(saver_conn, serde=CompressedSerializer())
        registry = PostgresRegistry(registry_conn)
        blobs = BlobStore(registry, "BYTEA")
        setup_database(saver, registry, blobs, registry_conn)
        yield Store(saver, registry, f"postgres:{redact(url)}", blobs)
    finally:
        saver_conn.close()
        if registry_conn is not None:
            registry_conn.close()

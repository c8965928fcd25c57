"""Where runs are kept: a SQLite file under HARNESS_HOME by default, PostgreSQL when
HARNESS_DATABASE_URL is set. The factory imports the backends; they never import it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.config import Settings
from app.store.base import Store
from app.store.sqlite import memory_store, open_sqlite_store

__all__ = ["Store", "memory_store", "open_store"]


@contextmanager
def open_store(settings: Settings) -> Iterator[Store]:
    if settings.database_url:
        # Imported only when used: psycopg is an optional extra.
        from app.store.postgres import open_postgres_store

        with open_postgres_store(settings.database_url) as store:
            yield store
        return
    with open_sqlite_store(settings) as store:
        yield store

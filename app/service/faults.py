"""Faults of the store under a run, turned into one clear error.

A full disk, a damaged SQLite file or a PostgreSQL server that went away raise driver errors
from deep inside LangGraph. What was committed before stays committed (every checkpoint is one
transaction), so the run is resumable once the store works again: say that, in one line.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from app.errors import StoreUnavailable, WriteDeferred
from app.safety.secrets import scrub_message


def is_store_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return True
    # psycopg is an optional extra: recognise its errors without importing it.
    return any(cls.__module__.startswith("psycopg") for cls in type(exc).__mro__)


def first_line(exc: BaseException) -> str:
    text = scrub_message(str(exc)).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


@contextmanager
def store_faults() -> Iterator[None]:
    try:
        yield
    except WriteDeferred as exc:
        raise StoreUnavailable(
            f"{first_line(exc)}; the run is approved and stopped before the write: "
            "fix the cause, then `harness resume` writes the report"
        ) from None
    except Exception as exc:
        if not is_store_error(exc):
            raise
        raise StoreUnavailable(
            f"the run store failed: {first_line(exc)}; saved runs are kept, and a run that was "
            "moving continues with `harness resume` once the store works again"
        ) from None

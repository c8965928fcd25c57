"""Where the approval gate claims its decision when the graph runs without the Python API
(inside `langgraph dev`, LangGraph Platform, Aegra or any Agent Protocol server).

The claim table is the run registry's `harness_decisions` (app/store/registry.py): inserting
(thread_id, interrupt_id) succeeds for exactly one answer, whichever process or server delivers
it. Servers do not all serialise runs per thread, so the graph itself must make this check.
The database is the harness store of the settings: PostgreSQL when HARNESS_DATABASE_URL is set
(every server worker must point at the same one), else the SQLite file under HARNESS_HOME.
One connection per process and database, opened on the first decision.
"""

from __future__ import annotations

import threading

from app.config import Settings
from app.errors import InputError
from app.store.registry import RunRegistry, SqliteRegistry
from app.store.sqlite import connect_sqlite

_OPEN: dict[str, RunRegistry] = {}
_LOCK = threading.Lock()


def claims_for(settings: Settings) -> RunRegistry:
    key = settings.database_url or f"sqlite:{settings.sqlite_path.resolve()}"
    with _LOCK:
        if key not in _OPEN:
            _OPEN[key] = _open(settings)
        return _OPEN[key]


def _open(settings: Settings) -> RunRegistry:
    if settings.database_url:
        from app.store.postgres import open_postgres_registry

        return open_postgres_registry(settings.database_url)
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create HARNESS_HOME {settings.home}: {exc.strerror}") from None
    registry = SqliteRegistry(connect_sqlite(str(settings.sqlite_path)))
    registry.setup()
    return registry

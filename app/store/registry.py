"""The run registry: which runs exist (for `harness list`) and who claimed each approval.

The claim is what makes concurrent approvals safe: inserting (run_id, interrupt_id) succeeds
for exactly one caller, whichever database holds it.
"""

from __future__ import annotations

import base64
import json
import threading
import zlib
from dataclasses import dataclass
from typing import Any, Protocol

from app.state_base import now_iso


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    topic: str
    mode: str
    created_at: str


class RunRegistry(Protocol):
    def setup(self) -> None: ...
    def add_run(self, run_id: str, topic: str, mode: str) -> None: ...
    def get_run(self, run_id: str) -> RunRecord | None: ...
    def list_runs(self, limit: int = 50) -> list[RunRecord]: ...
    def latest_run(self) -> RunRecord | None: ...
    def runs_with_prefix(self, prefix: str, limit: int = 2) -> list[RunRecord]: ...
    def claim_decision(self, run_id: str, interrupt_id: str, decision: dict[str, Any]) -> bool: ...
    def claimed_decision(self, run_id: str, interrupt_id: str) -> dict[str, Any] | None: ...
    def delete_run(self, run_id: str) -> bool: ...
    def save_policy(self, run_id: str, policy: dict[str, Any]) -> None: ...
    def run_policy(self, run_id: str) -> dict[str, Any] | None: ...


# An edited report in a claim above this size is kept compressed: the checkpoints hold it too,
# and a 345 KB edit was stored 7 times (docs/benchmarks.md, "State size").
PACK_MARKDOWN_CHARS = 4096


def pack_claim(decision: dict[str, Any]) -> str:
    markdown = decision.get("markdown")
    if isinstance(markdown, str) and len(markdown) > PACK_MARKDOWN_CHARS:
        packed = zlib.compress(markdown.encode("utf-8", "surrogatepass"), 6)
        decision = {k: v for k, v in decision.items() if k != "markdown"}
        decision["markdown_zlib"] = base64.b64encode(packed).decode("ascii")
    return json.dumps(decision)


def unpack_claim(text: str) -> dict[str, Any]:
    decision = json.loads(text)
    packed = decision.pop("markdown_zlib", None)
    if packed is not None:
        decision["markdown"] = zlib.decompress(base64.b64decode(packed)).decode(
            "utf-8", "surrogatepass"
        )
    return decision


SCHEMA = (
    """CREATE TABLE IF NOT EXISTS harness_runs (
        run_id TEXT PRIMARY KEY, topic TEXT NOT NULL, mode TEXT NOT NULL, created_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS harness_runs_created ON harness_runs (created_at)",
    """CREATE TABLE IF NOT EXISTS harness_decisions (
        run_id TEXT NOT NULL, interrupt_id TEXT NOT NULL, decision TEXT NOT NULL,
        decided_at TEXT NOT NULL, PRIMARY KEY (run_id, interrupt_id)
    )""",
    # The effective policy of each run, fixed when it starts (app/safety/policy.py to_record).
    """CREATE TABLE IF NOT EXISTS harness_policies (
        run_id TEXT PRIMARY KEY, policy TEXT NOT NULL
    )""",
)


class SqlRegistry:
    """Works on any DB-API connection in autocommit mode; `mark` is its parameter style."""

    insert_ignore = "INSERT INTO {table} {cols} VALUES {vals} ON CONFLICT DO NOTHING"

    def __init__(self, conn: Any, mark: str):
        self.conn = conn
        self.mark = mark
        self._lock = threading.Lock()

    def _run(self, sql: str, params: tuple = ()) -> Any:
        with self._lock:
            cur = self.conn.cursor()
            cur.execute(sql.replace("?", self.mark), params)
            return cur

    def _insert(self, table: str, cols: tuple[str, ...], values: tuple) -> bool:
        sql = self.insert_ignore.format(
            table=table, cols=f"({', '.join(cols)})", vals=f"({', '.join('?' for _ in cols)})"
        )
        return self._run(sql, values).rowcount == 1

    def setup(self) -> None:
        for statement in SCHEMA:
            self._run(statement)

    def add_run(self, run_id: str, topic: str, mode: str) -> None:
        self._insert(
            "harness_runs",
            ("run_id", "topic", "mode", "created_at"),
            (run_id, topic, mode, now_iso()),
        )

    def _records(self, sql: str, params: tuple = ()) -> list[RunRecord]:
        return [RunRecord(*row) for row in self._run(sql, params).fetchall()]

    def get_run(self, run_id: str) -> RunRecord | None:
        rows = self._records(
            "SELECT run_id, topic, mode, created_at FROM harness_runs WHERE run_id = ?", (run_id,)
        )
        return rows[0] if rows else None

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        return self._records(
            "SELECT run_id, topic, mode, created_at FROM harness_runs "
            "ORDER BY created_at DESC, run_id LIMIT ?",
            (limit,),
        )

    def latest_run(self) -> RunRecord | None:
        rows = self.list_runs(limit=1)
        return rows[0] if rows else None

    def runs_with_prefix(self, prefix: str, limit: int = 2) -> list[RunRecord]:
        """Runs whose id starts with `prefix`, however many runs exist."""
        # substr, not LIKE or a range: no wildcards to escape and no collation to depend on.
        return self._records(
            "SELECT run_id, topic, mode, created_at FROM harness_runs "
            "WHERE substr(run_id, 1, ?) = ? ORDER BY run_id LIMIT ?",
            (len(prefix), prefix, limit),
        )

    def claim_decision(self, run_id: str, interrupt_id: str, decision: dict[str, Any]) -> bool:
        return self._insert(
            "harness_decisions",
            ("run_id", "interrupt_id", "decision", "decided_at"),
            (run_id, interrupt_id, pack_claim(decision), now_iso()),
        )

    def claimed_decision(self, run_id: str, interrupt_id: str) -> dict[str, Any] | None:
        row = self._run(
            "SELECT decision FROM harness_decisions WHERE run_id = ? AND interrupt_id = ?",
            (run_id, interrupt_id),
        ).fetchone()
        return unpack_claim(row[0]) if row else None

    def save_policy(self, run_id: str, policy: dict[str, Any]) -> None:
        # First write wins: a run's policy never changes once it has started.
        self._insert("harness_policies", ("run_id", "policy"), (run_id, json.dumps(policy)))

    def run_policy(self, run_id: str) -> dict[str, Any] | None:
        row = self._run(
            "SELECT policy FROM harness_policies WHERE run_id = ?", (run_id,)
        ).fetchone()
        return json.loads(row[0]) if row else None


    def delete_run(self, run_id: str) -> bool:
        """Remove the run's row and its decision claims; True when the run was there."""
        self._run("DELETE FROM harness_decisions WHERE run_id = ?", (run_id,))
        return self._run("DELETE FROM harness_runs WHERE run_id = ?", (run_id,)).rowcount == 1


class SqliteRegistry(SqlRegistry):
    def __init__(self, conn: Any):
        super().__init__(conn, "?")


class PostgresRegistry(SqlRegistry):
    """The same tables in PostgreSQL (psycopg, autocommit); `ON CONFLICT DO NOTHING` makes the
    decision claim atomic across every worker process that shares the database."""

    def __init__(self, conn: Any):
        super().__init__(conn, "%s")

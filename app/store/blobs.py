"""Large texts stored once, by content, in the store's own database.

Checkpoints hold a run's state again at every step (SqliteSaver writes every channel into every
checkpoint), so a 19 MB `--sources` file became a 173 MB database. The documents are kept here
instead, once, under the SHA-256 of their bytes; the state holds the digest and a short
description (`app.service.sources_ref`).

Why the store's database and not files under HARNESS_HOME: PostgreSQL workers share the database
but not necessarily a disk; a run and its blobs are then deleted together by the same
connection (`harness delete`, `harness prune`); and a backup of the database is a backup of
everything a run needs to resume.

`harness_blob_refs` says which runs use which blob. The same content used by ten runs is one
row in `harness_blobs` and ten refs; a blob goes when its last run goes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache

from app.errors import InputError
from app.state_base import SourcesSpec, now_iso
from app.store.registry import SqlRegistry

PREFIX = "sha256:"


def schema(binary: str) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE IF NOT EXISTS harness_blobs (
            digest TEXT PRIMARY KEY, data {binary} NOT NULL, size BIGINT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS harness_blob_refs (
            run_id TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (run_id, digest)
        )""",
        "CREATE INDEX IF NOT EXISTS harness_blob_refs_digest ON harness_blob_refs (digest)",
    )


def digest_of(data: bytes) -> str:
    return PREFIX + hashlib.sha256(data).hexdigest()


class BlobStore:
    """Blobs in the registry's database, through the registry's connection and lock."""

    def __init__(self, registry: SqlRegistry, binary: str):
        self.registry = registry
        self.binary = binary

    def setup(self) -> None:
        for statement in schema(self.binary):
            self.registry._run(statement)

    def put(self, run_id: str, data: bytes) -> str:
        """Store `data` for `run_id` (idempotent) and return its digest. The ref is committed
        first, so a concurrent prune never removes a blob between its write and its ref; both
        are committed before the run's state names the digest."""
        digest = digest_of(data)
        self.add_refs(run_id, [digest])
        self.registry._insert(
            "harness_blobs",
            ("digest", "data", "size", "created_at"),
            (digest, data, len(data), now_iso()),
        )
        return digest

    def add_refs(self, run_id: str, digests: Iterable[str]) -> None:
        for digest in digests:
            self.registry._insert("harness_blob_refs", ("run_id", "digest"), (run_id, digest))

    def copy_refs(self, from_run: str, to_run: str) -> None:
        """A fork starts from the original's state, digests included: it uses its blobs too."""
        self.add_refs(to_run, self.digests(from_run))

    def digests(self, run_id: str) -> list[str]:
        rows = self.registry._run(
            "SELECT digest FROM harness_blob_refs WHERE run_id = ?", (run_id,)
        ).fetchall()
        return [row[0] for row in rows]

    def get(self, digest: str) -> bytes:
        row = self.registry._run(
            "SELECT data FROM harness_blobs WHERE digest = ?", (digest,)
        ).fetchone()
        if row is None:
            raise InputError(f"stored content {digest[:19]}... is missing from the store")
        return bytes(row[0])

    def documents(self, digest: str) -> list[dict[str, str]]:
        """Stored inline documents; cached by digest (content never changes under a digest),
        so the search, facts and fan-out steps of a run decode them once per process."""
        return _decoded(self, digest)

    def delete_runs(self, run_ids: Iterable[str]) -> int:
        """Drop the runs' refs, then every blob no run refers to any more. Returns the number
        of blobs removed."""
        for run_id in run_ids:
            self.registry._run("DELETE FROM harness_blob_refs WHERE run_id = ?", (run_id,))
        cur = self.registry._run(
            "DELETE FROM harness_blobs WHERE digest NOT IN (SELECT digest FROM harness_blob_refs)"
        )
        return max(cur.rowcount, 0)


@lru_cache(maxsize=4)
def _decoded(blobs: BlobStore, digest: str) -> list[dict[str, str]]:
    return json.loads(blobs.get(digest).decode("utf-8", "surrogatepass"))


# -- inline sources by reference ---------------------------------------------------------------

TITLES_SHOWN = 10
TITLE_CHARS = 80


def sources_by_reference(blobs: BlobStore, run_id: str, spec: SourcesSpec) -> SourcesSpec:
    """Inline documents go into the blob store; the state keeps the digest, how many documents
    there are and the first few titles (what Studio and `harness show` display)."""
    documents = spec.get("documents") or []
    data = json.dumps(documents, ensure_ascii=False).encode("utf-8", "surrogatepass")
    titles = [str(d.get("title", ""))[:TITLE_CHARS] for d in documents[:TITLES_SHOWN]]
    return {
        "kind": "inline",
        "ref": blobs.put(run_id, data),
        "count": len(documents),
        "bytes": len(data),
        "titles": titles,
    }


def resolve_sources(blobs: BlobStore | None, spec: SourcesSpec | None) -> SourcesSpec | None:
    """The spec with its documents back in place, for the steps that read them."""
    if not spec or not spec.get("ref"):
        return spec
    if blobs is None:
        raise InputError(
            "this run's sources are stored by reference in the harness store; "
            "continue it with `harness resume` or the Python API"
        )
    return {"kind": "inline", "documents": blobs.documents(spec["ref"])}

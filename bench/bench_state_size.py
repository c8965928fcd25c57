"""State size: database bytes per run with many inline documents, with revisions, and with a
large edit, on SQLite and (given a URL) PostgreSQL.

1. Inline documents (`--sources` / `documents=`, SQLite): N synthetic documents of 300-1,500
   words, one run to the gate and approved. Target: under 2x the documents' own size (their
   JSON) per run. Baseline in the same run: the same documents kept inline in the state, as
   every run did before they were stored by reference (a Harness whose store has no blob store).
2. Revisions, per backend: runs rejected with feedback 8 times, then approved, against runs
   approved at once. Bytes per run, averaged over `--runs` runs of each kind, each kind in a
   database of its own where one uncounted run went first (so a table's first pages are not
   charged to whichever kind comes first). Target from issue 15: under 2x.
3. Large edit, per backend: runs stopped at the gate, then edited with an E-byte Markdown
   text and finished; the database's growth from the gate to the end, against E. The text is
   the sample corpus's words in a seeded random order: prose-like, but no repeated passages
   for the compressor to find (its own zlib ratio is printed, to tell stored copies apart from
   compression).

4. Content floor (SQLite): one run of each kind alone in a new database, every row of every
   table with compressed values unpacked, xz-compressed as one stream (preset 9e): what the
   run holds with nothing stored twice. No store that keeps these checkpoints, writes and
   records can keep a run in less; their ratio shows how far any store could bring the
   revision ratio.

Bytes are pages in use: per table on SQLite (dbstat after a WAL checkpoint, the empty
database's subtracted), `pg_total_relation_size` (tables, indexes, TOAST) of a schema made for
the run on PostgreSQL (dropped afterwards; other sessions on the server are not counted). They
count everything a run adds: checkpoints, writes, registry rows, claims, blobs.

    python -m bench.bench_state_size [--quick] [--documents N] [--revisions N] [--runs N]
        [--edit-kb N] [--postgres URL]   (default URL: HARNESS_BENCH_POSTGRES_URL or
                                          HARNESS_TEST_POSTGRES_URL; none: SQLite only)
"""

from __future__ import annotations

import json
import lzma
import os
import random
import re
import sqlite3
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.service.runs import Harness
from bench.bench_store import table_bytes
from bench.common import TOPIC, Report, bench_settings, parser, quiet_env, temp_home

REPO = Path(__file__).resolve().parents[1]
WORDS = (
    "heat pump refrigerant compressor evaporator condenser coefficient performance winter "
    "defrost cycle ground source air source installation sizing noise tariff electricity gas "
    "boiler emissions grid flow temperature radiator underfloor insulation cost maintenance"
).split()


def synthetic_documents(n: int, seed: int = 15) -> list[dict[str, str]]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(300, 1500))]
        chunks = [words[k : k + 12] for k in range(0, len(words), 12)]
        sentences = [" ".join(chunk).capitalize() + "." for chunk in chunks]
        docs.append({"title": f"Heat pump note {i}", "content": " ".join(sentences)})
    return docs


def edit_text(size: int, seed: int = 15) -> str:
    """About `size` bytes of Markdown: the sample corpus's words, shuffled into sentences."""
    corpus = REPO / "app" / "data" / "sample_corpus"
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", " ".join(p.read_text() for p in corpus.iterdir()))
    rng = random.Random(seed)
    parts = ["# Edited report\n"]
    total = len(parts[0])
    while total < size:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(8, 20))).capitalize()
        parts.append(sentence + (".\n\n" if rng.random() < 0.2 else ". "))
        total += len(parts[-1])
    return "".join(parts)[:size]


# -- backends: where the runs go and how their bytes are counted ------------------------------


class Backend:
    def __init__(self, name: str, settings: dict[str, Any], size: Callable[[Path], int]):
        self.name, self.settings, self._size = name, settings, size

    def bytes_used(self, home: Path) -> int:
        return self._size(home)


def unpacked(cell: Any) -> bytes:
    """A cell as bytes, a zlib-compressed value (checkpoints, writes, claims) decompressed."""
    if isinstance(cell, bytes):
        try:
            return zlib.decompress(cell)
        except zlib.error:
            return cell
    return b"" if cell is None else str(cell).encode()


def content_floor(db: Path) -> int:
    """Every row of every table in the database, values unpacked, xz-compressed as one stream:
    the least any storage of the same content could take (nothing stored twice, every
    repetition between steps, revisions and runs found)."""
    conn = sqlite3.connect(db)
    try:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        rows = [
            b"\x1f".join(unpacked(cell) for cell in row)
            for (table,) in tables.fetchall()
            for row in conn.execute(f'SELECT * FROM "{table}"')
        ]
    finally:
        conn.close()
    return len(lzma.compress(b"\x1e".join(rows), preset=9 | lzma.PRESET_EXTREME))


@contextmanager
def sqlite_backend(_tag: str = "") -> Iterator[Backend]:
    """A database file of its own under each measurement's home."""

    def size(home: Path) -> int:
        return sum(table_bytes(home / "harness.sqlite").values())

    yield Backend("sqlite", {}, size)


def postgres_backends(url: str) -> Callable[[str], Any]:
    return lambda tag: postgres_backend(url, tag)


@contextmanager
def postgres_backend(url: str, tag: str) -> Iterator[Backend]:
    """A schema of its own on the server for each measurement, for its tables only."""
    import psycopg

    schema = f"harness_bench_{os.getpid()}_{tag}"
    admin = psycopg.connect(url, autocommit=True)
    admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.execute(f"CREATE SCHEMA {schema}")
    scoped = url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"

    def size(_home: Path) -> int:
        row = admin.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'",
            (schema,),
        ).fetchone()
        return int(row[0])

    try:
        yield Backend("postgres", {"database_url": scoped}, size)
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()


def grown_by(
    backend: Backend,
    home: Path,
    work: Callable[[Harness, Any], Any],
    *,
    by_reference: bool = True,
    before: Callable[[Harness], Any] | None = None,
    **settings: Any,
) -> int:
    """Bytes the database grows by for `work(h, prepared)`, where `prepared` is what
    `before(h)` returned (its bytes are not counted)."""
    s = bench_settings(home, **backend.settings, **settings)
    with Harness.open(s) as h:
        prepared = before(h) if before else None
    empty = backend.bytes_used(home)
    with Harness.open(s) as h:
        if not by_reference:
            h.store = replace(h.store, blobs=None)  # the old way: documents inline in state
        work(h, prepared)
    return backend.bytes_used(home) - empty


def approve_with(documents: list[dict[str, str]] | None, rejections: int = 0, runs: int = 1):
    def work(h: Harness, _prepared: Any = None) -> None:
        for _ in range(runs):
            run = h.start(TOPIC, documents=documents)
            for i in range(rejections):
                run = h.reject(run.run_id, feedback=f"Revision {i + 1}: say more about costs.")
            run = h.approve(run.run_id)
            if run.status != "completed":
                raise RuntimeError(f"run ended {run.status}: {run.values.get('error')}")

    return work


def edited_runs(markdown: str, runs: int):
    def to_gate(h: Harness) -> list[str]:
        return [h.start(TOPIC).run_id for _ in range(runs)]

    def edit(h: Harness, run_ids: list[str]) -> None:
        for run_id in run_ids:
            run = h.edit(run_id, markdown)
            if run.status != "completed" or Path(run.report_path).read_text() != markdown:
                raise RuntimeError(f"edited run ended {run.status}")

    return to_gate, edit


# -- the measurements -------------------------------------------------------------------------


def inline_documents(report: Report, root: Path, n: int) -> None:
    docs = synthetic_documents(n)
    own = len(json.dumps(docs, ensure_ascii=False).encode())
    with sqlite_backend() as sqlite:
        by_ref = grown_by(sqlite, root / "by-ref", approve_with(docs))
        inline = grown_by(sqlite, root / "inline", approve_with(docs), by_reference=False)
    report.note(f"{n} inline documents, {own:,} bytes as JSON (SQLite)")
    report.figure("documents_json_bytes", own, "bytes")
    report.figure("inline_docs_run_bytes_by_reference", by_ref, "bytes")
    report.figure("inline_docs_run_bytes_inline_state", inline, "bytes")
    report.ratio(
        "inline_docs_run_vs_documents_size",
        by_ref / own,
        target=2.0,
        higher_is_better=False,
        meaning="database bytes per run over the documents' own size",
    )
    report.ratio(
        "inline_state_vs_by_reference",
        inline / by_ref,
        meaning="what keeping the documents in the state cost, against by reference",
    )


def revisions_and_edit(
    report: Report,
    name: str,
    backends: Callable[[str], Any],
    root: Path,
    revisions: int,
    runs: int,
    markdown: str,
) -> None:
    """`backends(tag)`: a fresh, empty database of the kind measured, for each measurement."""

    def measure(tag: str, work: Any, prepare: Any = None) -> int:
        def before(h: Harness) -> Any:
            # One run first, not counted: every table and index gets its first pages, which
            # would otherwise be charged to whichever kind of run is measured first.
            approve_with(None)(h)
            return prepare(h) if prepare else None

        with backends(tag) as backend:
            return grown_by(backend, root / tag, work, before=before, max_revisions=revisions)

    b = name
    plain = measure("plain", approve_with(None, 0, runs)) / runs
    revised = measure("revised", approve_with(None, revisions, runs)) / runs
    report.note(f"{b}: {revisions} revisions, bytes per run over {runs} run(s) of each kind")
    report.figure(f"{b}_plain_run_bytes", round(plain), "bytes")
    report.figure(f"{b}_run_with_{revisions}_revisions_bytes", round(revised), "bytes")
    report.figure(f"{b}_bytes_per_revision", round((revised - plain) / revisions), "bytes")
    report.ratio(
        f"{b}_revised_run_vs_plain_run",
        revised / plain,
        target=2.0,
        higher_is_better=False,
        meaning=f"a run with {revisions} revisions against one approved at once",
    )
    to_gate, edit = edited_runs(markdown, runs)
    grew = measure("edit", edit, to_gate) / runs
    size = len(markdown.encode())
    packed = len(zlib.compress(markdown.encode(), 6))
    report.note(f"{b}: a {size:,}-byte edit (zlib: {packed:,} bytes)")
    report.figure(f"{b}_edit_bytes", size, "bytes")
    report.figure(f"{b}_growth_from_gate_to_end_with_edit", round(grew), "bytes")
    report.ratio(
        f"{b}_large_edit_growth_vs_edit_size",
        grew / size,
        meaning="database growth from the gate to the end, over the edit's own size",
    )
    report.ratio(
        f"{b}_large_edit_growth_vs_compressed_edit",
        grew / packed,
        meaning="the same over the edit's zlib size: about how many copies are stored",
    )


def content_floors(report: Report, root: Path, revisions: int) -> None:
    """One run of each kind alone in a new SQLite database: its rows as one xz stream, the
    least any store could keep for that run (repetitions between its steps found)."""
    floors = []
    for tag, rejections in (("plain", 0), ("revised", revisions)):
        s = bench_settings(root / tag, max_revisions=revisions)
        db = s.home / "harness.sqlite"
        with Harness.open(s) as h:
            empty = content_floor(db)  # the tables alone
            approve_with(None, rejections)(h)
        floors.append(content_floor(db) - empty)
    plain, revised = floors
    report.note("content floor: one run of each kind, alone in its database (SQLite)")
    report.figure("plain_run_content_floor_bytes", plain, "bytes")
    report.figure(f"run_with_{revisions}_revisions_content_floor_bytes", revised, "bytes")
    report.ratio(
        "revised_run_vs_plain_run_content_floor",
        revised / plain,
        meaning="the revision ratio for the runs' content with nothing stored twice: what a "
        "store that finds every repetition inside a run would reach, before its rows",
    )


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--documents", type=int, help="inline documents (default 1000, quick 50)")
    p.add_argument("--revisions", type=int, help="rejections before approval (default 8)")
    p.add_argument("--runs", type=int, help="runs of each kind per database (default 3, quick 1)")
    p.add_argument("--edit-kb", type=int, help="size of the large edit (default 345, quick 40)")
    p.add_argument("--postgres", metavar="URL", help="also measure on this PostgreSQL server")
    args = p.parse_args(argv)
    postgres = args.postgres or next(
        (
            os.environ[k]
            for k in ("HARNESS_BENCH_POSTGRES_URL", "HARNESS_TEST_POSTGRES_URL")
            if os.environ.get(k)
        ),
        None,
    )
    quiet_env()
    n = args.documents or (50 if args.quick else 1000)
    revisions = args.revisions if args.revisions is not None else (2 if args.quick else 8)
    runs = args.runs or (1 if args.quick else 3)
    markdown = edit_text((args.edit_kb or (40 if args.quick else 345)) * 1000)
    report = Report("bench_state_size", "database bytes per run", args)
    with temp_home() as root:
        inline_documents(report, root / "docs", n)
        content_floors(report, root / "floor", revisions)
        args_ = (revisions, runs, markdown)
        revisions_and_edit(report, "sqlite", sqlite_backend, root / "sqlite", *args_)
        if postgres:
            revisions_and_edit(report, "postgres", postgres_backends(postgres), root / "pg", *args_)
        else:
            report.note("postgres: not measured (no --postgres URL)")
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""State size: database bytes per run with many inline documents, and with revisions.

1. Inline documents (`--sources` / `documents=`): N synthetic documents of 300-1,500 words,
   one run to the gate and approved. Target: under 2x the documents' own size (their JSON) per
   run. Baseline in the same run: the same documents kept inline in the state, as every run
   did before they were stored by reference (a Harness whose store has no blob store).
2. Revisions: a run rejected with feedback 8 times, then approved, against a run approved at
   once. Target from issue 15: under 2x.

Bytes are pages in use per table (SQLite dbstat after a WAL checkpoint), the empty database's
subtracted, so they count everything a run adds: checkpoints, writes, registry rows, blobs.

    python -m bench.bench_state_size [--quick] [--documents N] [--revisions N]
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.service.runs import Harness
from bench.bench_store import table_bytes
from bench.common import TOPIC, Report, bench_settings, parser, quiet_env, temp_home

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


def run_bytes(home: Path, work: Any, *, by_reference: bool = True, **settings: Any) -> int:
    """Bytes the database grows by for `work(h)`."""
    s = bench_settings(home, **settings)
    with Harness.open(s):
        pass
    empty = table_bytes(s.sqlite_path)
    with Harness.open(s) as h:
        if not by_reference:
            h.store = replace(h.store, blobs=None)  # the old way: documents inline in state
        work(h)
    full = table_bytes(s.sqlite_path)
    return sum(full.get(k, 0) - empty.get(k, 0) for k in full)


def approve_with(documents: list[dict[str, str]] | None, rejections: int = 0):
    def work(h: Harness) -> None:
        run = h.start(TOPIC, documents=documents)
        for i in range(rejections):
            run = h.reject(run.run_id, feedback=f"Revision {i + 1}: say more about costs.")
        run = h.approve(run.run_id)
        if run.status != "completed":
            raise RuntimeError(f"run ended {run.status}: {run.values.get('error')}")

    return work


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--documents", type=int, help="inline documents (default 1000, quick 50)")
    p.add_argument("--revisions", type=int, help="rejections before approval (default 8)")
    args = p.parse_args(argv)
    quiet_env()
    n = args.documents or (50 if args.quick else 1000)
    revisions = args.revisions if args.revisions is not None else (2 if args.quick else 8)
    report = Report("bench_state_size", "database bytes per run", args)
    docs = synthetic_documents(n)
    own = len(json.dumps(docs, ensure_ascii=False).encode())
    with temp_home() as root:
        by_ref = run_bytes(root / "by-ref", approve_with(docs))
        inline = run_bytes(root / "inline", approve_with(docs), by_reference=False)
        plain = run_bytes(root / "plain", approve_with(None), max_revisions=revisions)
        revised = run_bytes(
            root / "revised", approve_with(None, revisions), max_revisions=revisions
        )
    report.note(f"{n} inline documents, {own:,} bytes as JSON; {revisions} revisions")
    report.figure("documents_json_bytes", own, "bytes")
    report.figure("inline_docs_run_bytes_by_reference", by_ref, "bytes")
    report.figure("inline_docs_run_bytes_inline_state", inline, "bytes")
    report.figure("plain_run_bytes", plain, "bytes")
    report.figure(f"run_with_{revisions}_revisions_bytes", revised, "bytes")
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
    report.ratio(
        "revised_run_vs_plain_run",
        revised / plain,
        target=2.0,
        higher_is_better=False,
        meaning=f"a run with {revisions} revisions against one approved at once",
    )
    report.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

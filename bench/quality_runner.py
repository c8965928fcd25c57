"""Run each benchmark question through the harness to the approval gate and print one JSON
object: {"drafts": {id: {"draft", "seconds", "error"}}, "cold_s": ...}.

It runs in its own process with whichever code tree is first on PYTHONPATH, so the same runner
measures this branch and an older commit (bench/bench_quality.py --baseline REF)."""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path


def main() -> None:
    questions_file, corpus, home = sys.argv[1], sys.argv[2], sys.argv[3]
    only = set(sys.argv[4].split(",")) if len(sys.argv) > 4 and sys.argv[4] else None
    from app.config import Settings
    from app.runs import Harness

    questions = json.loads(Path(questions_file).read_text(encoding="utf-8"))["questions"]
    settings = Settings(home=Path(home), retry_initial_interval=0)
    h = Harness.in_memory(settings)
    out: dict = {"drafts": {}}
    # The first run pays for reading (and, where there is one, building the index of) the corpus.
    started = time.perf_counter()
    try:
        h.start("warm up the corpus", corpus=corpus)
    except Exception:  # noqa: BLE001 - reported below if the real questions fail too
        pass
    out["cold_s"] = round(time.perf_counter() - started, 3)
    for q in questions:
        if only and q["id"] not in only:
            continue
        started = time.perf_counter()
        entry: dict = {"draft": "", "error": None, "status": None}
        try:
            run = h.start(q["question"], corpus=corpus)
            entry["status"] = run.status
            entry["draft"] = run.values.get("draft") or ""
            if run.status == "failed":
                entry["error"] = (run.values.get("error") or {}).get("message")
        except Exception:  # noqa: BLE001 - a traceback is a measured outcome here
            entry["error"] = "traceback: " + traceback.format_exc(limit=3)[-600:]
        entry["seconds"] = round(time.perf_counter() - started, 3)
        out["drafts"][q["id"]] = entry
    print(json.dumps(out))


if __name__ == "__main__":
    main()

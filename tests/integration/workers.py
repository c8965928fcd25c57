"""Worker processes for the scale-out and concurrency tests.

    python -m tests.integration.workers start GO_AT TOPIC...     # one thread per topic
    python -m tests.integration.workers approve GO_AT RUN_ID...  # one thread per run
    python -m tests.integration.workers cli GO_AT ARGS...        # `harness ARGS` at GO_AT
    python -m tests.integration.workers resume GO_AT THREAD_ID ANSWER_JSON
        # Command(resume=ANSWER) through the graph itself, no Python API (as a server runs it)

Each uses the store named by the environment (HARNESS_DATABASE_URL or HARNESS_HOME), waits until
the wall-clock time GO_AT so that every process starts its work at the same moment, and prints
one JSON line per result.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any


def _wait(go_at: float) -> None:
    delay = go_at - time.time()
    if delay > 0:
        time.sleep(delay)


def _each(items: list[str], fn) -> list[dict[str, Any]]:
    from app.errors import HarnessError

    results: list[dict[str, Any]] = [{} for _ in items]

    def work(i: int, item: str) -> None:
        try:
            results[i] = {"item": item, "ok": True, **fn(item)}
        except HarnessError as exc:
            results[i] = {"item": item, "ok": False, "error": str(exc), "kind": type(exc).__name__}

    threads = [threading.Thread(target=work, args=(i, it)) for i, it in enumerate(items)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _harness_call(method: str):
    from app.service.runs import Harness

    def call(item: str) -> dict[str, Any]:
        # Each thread has its own store connection, as separate workers would.
        with Harness.open() as h:
            run = h.start(item) if method == "start" else h.approve(item, by=f"worker-{item[:4]}")
            return {"run_id": run.run_id, "status": run.status, "report": run.report_path}

    return call


def _resume_graph(thread_id: str, answer: str) -> dict[str, Any]:
    """The graph alone, as a server would run it: its checkpointer from the store, and the
    gate's claims from the settings (the same database), not from the Python API."""
    from langgraph.types import Command

    from app.config import Settings
    from app.store.factory import open_store
    from graphs.harness import build_graph

    settings = Settings.from_env()
    with open_store(settings) as store:
        graph = build_graph(store.checkpointer, settings=settings)
        config = {"configurable": {"thread_id": thread_id}}
        values = graph.invoke(Command(resume=json.loads(answer)), config, durability="sync")
    waiting = values.get("__interrupt__")
    return {
        "status": values.get("status"),
        "refused": waiting[0].value.get("validation_error") if waiting else None,
        "report": (values.get("report") or {}).get("path"),
    }


def main(argv: list[str]) -> int:
    command, go_at, items = argv[0], float(argv[1]), argv[2:]
    if command == "resume":
        _wait(go_at)
        print(json.dumps(_resume_graph(*items)), flush=True)
        return 0
    if command == "cli":
        from app.cli.main import main as cli_main

        _wait(go_at)
        sys.argv = ["harness", *items]
        cli_main()
        return 0
    call = _harness_call(command)
    _wait(go_at)
    for result in _each(items, call):
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

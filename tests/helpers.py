"""Test doubles for roles and small helpers shared by graph tests."""

from __future__ import annotations

from langgraph.constants import END, START

from app.nodes.workflow import edge_set, export_workflow
from app.research.facts import OfflineFactExtractor
from app.research.roles import Roles, offline_roles


class FlakyFacts(OfflineFactExtractor):
    """Fails the first `failures` calls (like a model endpoint timing out), then works."""

    provider = "flaky-test"

    def __init__(self, failures: int):
        self.failures = failures
        self.calls = 0

    def extract(self, topic, questions, documents):
        self.calls += 1
        if self.calls <= self.failures:
            raise TimeoutError(f"model timed out (call {self.calls})")
        return super().extract(topic, questions, documents)


def roles_with(**overrides) -> Roles:
    base = offline_roles()
    return Roles(
        planner=overrides.get("planner", base.planner),
        facts=overrides.get("facts", base.facts),
        drafter=overrides.get("drafter", base.drafter),
        reviewer=overrides.get("reviewer", base.reviewer),
    )


def node_path(trace: list[dict]) -> list[str]:
    """The nodes a run went through, in order, read from its trace."""
    path: list[str] = []
    for event in trace:
        if not path or path[-1] != event["step"]:
            path.append(event["step"])
    return path


def assert_trace_follows_workflow(graph, trace: list[dict]) -> None:
    edges = edge_set(export_workflow(graph))
    steps = node_path(trace)
    for a, b in zip([START, *steps], steps, strict=False):
        assert (a, b) in edges, f"transition {a} -> {b} seen in the trace is not in the workflow"
    if steps and steps[-1] in ("done", "failed", "cancelled"):
        assert (steps[-1], END) in edges


def events(trace: list[dict]) -> list[str]:
    return [e["event"] for e in trace]


def add_value_only_langgraph_decodes(db_path, thread_id: str) -> None:
    """Put a `Send` (an extension type the light SQLite rows reader does not know, as a fan-out
    step in flight leaves) into the run's latest checkpoint, under a key that is no state key:
    readers of the rows must step aside for the saver."""
    import sqlite3

    from langgraph.types import Send

    from app.store.serde import CompressedSerializer

    serde = CompressedSerializer()
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        cid, type_, blob = conn.execute(
            "SELECT checkpoint_id, type, checkpoint FROM checkpoints WHERE thread_id = ? "
            "ORDER BY checkpoint_id DESC LIMIT 1",
            (thread_id,),
        ).fetchone()
        checkpoint = serde.loads_typed((type_, blob))
        checkpoint["channel_values"]["__odd"] = Send("plan", {"x": 1})
        conn.execute(
            "UPDATE checkpoints SET type = ?, checkpoint = ? "
            "WHERE thread_id = ? AND checkpoint_id = ?",
            (*serde.dumps_typed(checkpoint), thread_id, cid),
        )
    finally:
        conn.close()

"""Describe a compiled graph as data: nodes, labelled transitions, approval gates, risky steps,
terminal states. Everything is read from the compiled graph and its node metadata."""

from __future__ import annotations

from typing import Any

from langgraph.constants import END, START
from langgraph.graph.state import CompiledStateGraph


def _node_info(name: str, spec: Any) -> dict[str, Any]:
    meta = dict(spec.metadata or {})
    retry = spec.retry_policy
    policies = (
        retry
        if isinstance(retry, (list, tuple)) and not hasattr(retry, "max_attempts")
        else ([retry] if retry else [])
    )
    return {
        "id": name,
        "action_category": meta.pop("action_category", None),
        "risky": bool(meta.pop("risky", False)),
        "approval_gate": bool(meta.pop("approval_gate", False)),
        "terminal_status": meta.pop("terminal_status", None),
        "retry_max_attempts": max((p.max_attempts for p in policies), default=None),
        **meta,
    }


def _transitions(graph: CompiledStateGraph) -> list[dict[str, Any]]:
    builder = graph.builder
    edges = [
        {"from": src, "to": dst, "label": None, "conditional": False}
        for src, dst in sorted(builder.edges)
    ]
    for source, branches in builder.branches.items():
        for branch in branches.values():
            for label, target in (branch.ends or {}).items():
                edges.append({"from": source, "to": target, "label": label, "conditional": True})
    # Send-based fan-out declares its possible targets on the node that dispatches.
    for name, spec in builder.nodes.items():
        for target in spec.ends or ():
            edges.append({"from": name, "to": target, "label": "send", "conditional": True})
    return edges


def export_workflow(graph: CompiledStateGraph) -> dict[str, Any]:
    nodes = [_node_info(name, spec) for name, spec in graph.builder.nodes.items()]
    transitions = _transitions(graph)
    entry = sorted({t["to"] for t in transitions if t["from"] == START})
    return {
        "name": graph.name,
        "entry": entry[0] if len(entry) == 1 else entry,
        "nodes": nodes,
        "transitions": transitions,
        "approval_gates": [n["id"] for n in nodes if n["approval_gate"]],
        "risky_steps": [n["id"] for n in nodes if n["risky"]],
        "terminal_states": sorted({t["from"] for t in transitions if t["to"] == END}),
        "start": START,
        "end": END,
    }


def edge_set(workflow: dict[str, Any]) -> set[tuple[str, str]]:
    return {(t["from"], t["to"]) for t in workflow["transitions"]}


def mermaid(graph: CompiledStateGraph) -> str:
    return graph.get_graph().draw_mermaid()

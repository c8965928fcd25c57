"""The effective policy, as `harness policy [ID]` and `Harness.policy_info` show it: the write
roots and switched-off tools, and per tool step what the graph says it is (its action category,
whether it is risky and gated) and whether the policy lets it run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.nodes.workflow import export_workflow
from app.safety.policy import Policy

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph


def describe_policy(policy: Policy, graph: CompiledStateGraph, *, stored: bool) -> dict[str, Any]:
    record = policy.to_record()
    roots = record["allowed_write_roots"]
    tools: dict[str, dict[str, Any]] = {}
    for node in export_workflow(graph)["nodes"]:
        if node.get("retry_max_attempts") is None:
            continue  # the gate and the end nodes are not tools a policy switches
        entry: dict[str, Any] = {
            "enabled": node["id"] not in policy.disabled_tools,
            "action_category": node["action_category"],
            "risky": bool(node["risky"]),
            "requires_approval": bool(node["risky"]),
        }
        if node["action_category"] == "filesystem_write":
            entry["allowed_output_roots"] = roots
        tools[node["id"]] = entry
    return {
        "stored_with_run": stored,
        "source": record["source"] or "default (HARNESS_OUTPUT_ROOT, else $HARNESS_HOME/reports)",
        "format": record["format"],
        "allowed_write_roots": roots,
        "disabled_tools": record["disabled_tools"],
        "tools": tools,
        "notes": record["notes"],
    }

"""The linear research graph:

plan -> search -> extract_facts -> draft_report -> review -> approval -> finalize_report -> done,
with `tool_error` / `review_failed` edges to `failed` and rejection edges from the approval gate.

`graph` is compiled without a checkpointer: `langgraph dev` and LangGraph Platform bring their
own. The CLI and Python API call `build_graph(checkpointer=...)` with a store from app/store/.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph

from app.config import Settings
from app.nodes.channels import graph_state
from app.nodes.gate import ClaimStore
from app.research.roles import Roles
from app.safety.policy import Policy
from app.state import HarnessInput
from graphs.common import add_intake, add_report_tail, add_tool_node, make_steps, then


def build_graph(
    checkpointer: BaseCheckpointSaver | None = None,
    *,
    settings: Settings | None = None,
    roles: Roles | None = None,
    blobs: Any = None,
    policy: Policy | None = None,
    claims: ClaimStore | None = None,
) -> CompiledStateGraph:
    steps = make_steps(settings, roles, blobs, policy, claims)
    builder = StateGraph(graph_state(), input_schema=HarnessInput)
    add_intake(builder)
    add_tool_node(
        builder, "plan", steps.plan, steps, "model_generation", opening=steps.opening("linear")
    )
    add_tool_node(builder, "search", steps.search, steps, "read_only")
    add_tool_node(builder, "extract_facts", steps.extract_facts, steps, "transform")
    add_report_tail(builder, steps)

    builder.add_edge("intake", "plan")
    then(builder, "plan", "search")
    then(builder, "search", "extract_facts")
    then(builder, "extract_facts", "draft_report")
    return builder.compile(checkpointer=checkpointer, name="harness")


graph = build_graph()

"""The manager-worker research graph (fan-out mode):

plan --fan_out (Send, one per sub-question)--> research x N --> join_facts -> draft_report
-> review -> approval -> finalize_report -> done, with the same tail, gate and terminal states
as the linear graph (graphs/common.py).

Workers of one superstep run concurrently (LangGraph runs the Send tasks of a step in its
thread pool). A worker whose retries are spent records its sub-question as failed; the join
fails the run only when every worker failed.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Send

from app.config import Settings
from app.nodes.channels import graph_state
from app.nodes.fanout import TeamSteps, after_join, dispatch_payloads, worker_step
from app.nodes.gate import ClaimStore
from app.nodes.steps import after_tool
from app.research.roles import Roles
from app.safety.policy import Policy
from app.state import HarnessInput, HarnessState, WorkerInput
from graphs.common import add_intake, add_report_tail, add_tool_node, make_steps, retry_policy

WORKER = "research"


def build_graph(
    checkpointer: BaseCheckpointSaver | None = None,
    *,
    settings: Settings | None = None,
    roles: Roles | None = None,
    blobs: Any = None,
    policy: Policy | None = None,
    claims: ClaimStore | None = None,
) -> CompiledStateGraph:
    steps = TeamSteps.from_steps(make_steps(settings, roles, blobs, policy, claims))
    builder = StateGraph(graph_state(), input_schema=HarnessInput)
    add_intake(builder)
    add_tool_node(
        builder, "plan", steps.plan, steps, "model_generation", opening=steps.opening("fanout")
    )
    builder.add_node(
        WORKER,
        worker_step(WORKER, steps.research, steps.policy, steps.settings.retry_attempts),
        input_schema=WorkerInput,
        retry_policy=retry_policy(steps.settings),
        metadata={"action_category": "read_only", "fan_out_worker": True},
    )
    add_tool_node(builder, "join_facts", steps.join_facts, steps, "transform")
    add_report_tail(builder, steps)

    def fan_out(state: HarnessState) -> str | list[Send]:
        if after_tool(state) == "tool_error":
            return "tool_error"
        return [Send(WORKER, payload) for payload in dispatch_payloads(state)]

    builder.add_edge("intake", "plan")
    # `fan_out` is never returned as a label: it names the Send target, so the workflow export
    # and the drawing show the fan-out edge plan -> research.
    builder.add_conditional_edges("plan", fan_out, {"fan_out": WORKER, "tool_error": "failed"})
    builder.add_edge(WORKER, "join_facts")
    builder.add_conditional_edges(
        "join_facts",
        after_join,
        {"joined": "draft_report", "all_failed": "failed", "tool_error": "failed"},
    )
    return builder.compile(checkpointer=checkpointer, name="research_team")


graph = build_graph()

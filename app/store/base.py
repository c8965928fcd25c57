"""What every store hands its caller: a checkpointer and the run registry."""

from __future__ import annotations

from dataclasses import dataclass

from langgraph.checkpoint.base import BaseCheckpointSaver

from app.store.registry import RunRegistry


@dataclass
class Store:
    checkpointer: BaseCheckpointSaver
    registry: RunRegistry
    description: str

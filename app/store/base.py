"""What every store hands its caller: a checkpointer, the run registry and the blob store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from langgraph.checkpoint.base import BaseCheckpointSaver

from app.store.blobs import BlobStore
from app.store.registry import RunRegistry


@dataclass
class Store:
    checkpointer: BaseCheckpointSaver
    registry: RunRegistry
    description: str
    # Large inputs stored once by content (app/store/blobs.py); None for a bare checkpointer.
    blobs: BlobStore | None = None
    # Makes every commit so far durable (power loss included); called when a run stops (gate,
    # end). None where each commit is already durable on its own.
    sync: Callable[[], None] | None = None

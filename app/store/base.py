"""What every store hands its caller: a checkpointer, the run registry and the blob store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.store.blobs import BlobStore
from app.store.registry import RunRegistry

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from app.store.sqlite_rows import SqliteRows


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
    # The checkpoint rows, read without LangGraph (SQLite): for commands that only print runs.
    rows: SqliteRows | None = None


class LazySaverStore(Store):
    """A store whose checkpointer is opened when first used. Importing LangGraph's saver loads
    langchain-core (~0.5 s); `harness list` and `show` read the rows without it (`rows`)."""

    def __init__(
        self,
        checkpointer: BaseCheckpointSaver | None = None,
        *args: Any,
        open_saver: Callable[[], BaseCheckpointSaver] | None = None,
        **kw: Any,
    ):
        # `checkpointer` given: already open (`dataclasses.replace` passes the opened one).
        self._open_saver = open_saver
        super().__init__(checkpointer, *args, **kw)  # type: ignore[arg-type]

    @property  # type: ignore[override]
    def checkpointer(self) -> BaseCheckpointSaver:
        if self._saver is None and self._open_saver is not None:
            self._saver = self._open_saver()
        return self._saver

    @checkpointer.setter
    def checkpointer(self, saver: BaseCheckpointSaver | None) -> None:
        self._saver = saver

"""A run's stops are made durable once each: the gate and the end (Store.sync), not every step."""

from __future__ import annotations

import os
from dataclasses import replace

from app.service.runs import Harness
from app.store import sqlite as sqlite_store

TOPIC = "How do heat pumps work?"


def test_the_store_is_synced_once_at_the_gate_and_once_at_the_end(settings):
    calls: list[str] = []
    h = Harness.in_memory(settings)
    h.store = replace(h.store, sync=lambda: calls.append("sync"))
    run = h.start(TOPIC)
    assert run.status == "waiting_approval" and calls == ["sync"]
    assert h.approve(run.run_id).status == "completed"
    assert calls == ["sync", "sync"]


def test_sqlite_store_fsyncs_its_wal_at_the_gate_the_claim_and_the_end(settings, monkeypatch):
    synced: list[str] = []
    real_fsync = sqlite_store.os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))  # which file (the report is too)
        real_fsync(fd)

    monkeypatch.setattr(sqlite_store.os, "fsync", fsync)
    with Harness.open(settings) as h:
        assert h.store.sync is not None
        saver_mode = h.store.checkpointer.conn.execute("PRAGMA synchronous").fetchone()[0]
        registry_mode = h.store.registry.conn.execute("PRAGMA synchronous").fetchone()[0]
        assert (saver_mode, registry_mode) == (1, 1)  # NORMAL: durable at the points below
        wal = f"{settings.sqlite_path.resolve()}-wal"
        run = h.start(TOPIC)
        assert synced == [wal]
        h.approve(run.run_id)
        # Then: the claim, the report's own fsync (its temp file, before the rename), the end.
        assert synced[0] == synced[1] == synced[-1] == wal and len(synced) == 4
        assert synced[2].startswith(str(settings.reports_root))

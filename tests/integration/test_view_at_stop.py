"""What `start`, `approve`, `reject` and `resume` return is the run as stored. After a stop the
API takes the run's trace, draft, matches and facts from the state its graph just computed
(instead of rebuilding them from the stored writes) only while the run's newest checkpoint is
the one that computation saved; a run another writer moved on is read from the store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.config import Settings
from app.nodes.tracing import make_event
from app.service.runs import Harness, RunView
from tests.conftest import TOPIC

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def stored_harness(request, settings: Settings) -> Iterator[Harness]:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        settings = Settings.from_env(home=settings.home, database_url=url, retry_initial_interval=0)
    with Harness.open(settings) as h:
        yield h


def _same_as_stored(h: Harness, view: RunView) -> None:
    stored = h.get(view.run_id)
    assert view.values == stored.values
    assert view.trace == stored.trace and view.trace
    assert (view.status, view.next, view.pending, view.checkpoint_id) == (
        stored.status, stored.next, stored.pending, stored.checkpoint_id,
    )


@pytest.mark.parametrize("mode", ["linear", "fanout"])
@pytest.mark.parametrize("listening", [False, True])
def test_every_stop_returns_the_run_as_stored(stored_harness: Harness, mode: str, listening: bool):
    h = stored_harness
    live: list[dict[str, Any]] = []
    on_event = live.append if listening else None
    run = h.start(TOPIC, mode=mode, on_event=on_event)
    _same_as_stored(h, run)
    assert run.values["draft"] and run.values["facts"] and run.values["matches"]
    redraft = h.reject(run.run_id, feedback="Say more about noise.", on_event=on_event)
    _same_as_stored(h, redraft)
    assert redraft.values["draft"] != run.values["draft"]
    done = h.edit(redraft.run_id, "# Edited\n\nOnly this.\n", on_event=on_event)
    _same_as_stored(h, done)
    assert done.status == "completed" and done.values["draft"] == "# Edited\n\nOnly this.\n"
    if listening:
        assert live and all(event in done.trace for event in live)


def test_a_run_moved_on_by_another_writer_is_read_from_the_store(
    stored_harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    h = stored_harness
    run_graph = Harness.run_graph
    note = make_event("note", "review", text="added by another writer")

    def then_another_writer(self: Harness, mode: str, payload: Any, config: dict, on_event):
        result = run_graph(self, mode, payload, config, on_event)
        # Between the stop and the read-back, a new checkpoint from elsewhere.
        self.graph(mode).update_state(config, {"trace": [note]}, as_node="review")
        return result

    monkeypatch.setattr(Harness, "run_graph", then_another_writer)
    run = h.start(TOPIC)
    assert run.trace[-1] == note
    _same_as_stored(h, run)

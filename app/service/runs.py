"""The Python API: start runs, inspect them, decide at the gate, resume. Used by the CLI,
notebooks and tests; it holds no graph logic of its own, only the graph and the store.

    with Harness.open() as h:
        run = h.start("How do heat pumps work?")
        run.status                      # "waiting_approval"
        run = h.approve(run.run_id)     # or h.edit(...), h.reject(..., feedback=...)
        run.values["report"]["path"]
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from app.config import Settings
from app.errors import (
    AlreadyDecided,
    HarnessError,
    InputError,
    NotWaiting,
    RunNotFound,
    RunStopped,
    StaleDecision,
)
from app.nodes.binding import Gate, draft_sha256, parse_gate_token, stale_reason
from app.nodes.tracing import make_event
from app.research.corpus import one_listing_per_run
from app.safety.policy import Policy
from app.safety.secrets import scrub
from app.safety.terminal import sanitize
from app.service.faults import store_faults
from app.service.run_summary import operational_summary
from app.service.trace_summary import trace_summary
from app.service.view import RunView, run_view
from app.state_base import TERMINAL_STATUSES, Decision, SourcesSpec, path_for_state
from app.store.blobs import sources_by_reference
from app.store.factory import Store, memory_store, open_store
from app.store.light_decode import NeedsSaver
from app.store.registry import RunRecord
from app.store.snapshot import Computed, StoredState, read_latest
from app.store.written import recording

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from app.research.roles import Roles

# The graph machinery (langgraph.graph, the nodes, the model client) is imported where a run
# moves, not here: commands that only look at runs (`harness list`, `show`) never load it
# (tests/integration/test_cli_imports.py, bench/bench_cli_startup.py).

EventHandler = Callable[[dict[str, Any]], None]
# "sync": each step's checkpoint is on disk before the next step starts, so a killed process
# resumes from the last finished step and no step's side effect is applied twice.
Durability = Literal["sync", "async", "exit"]
DURABILITY: Durability = "sync"
MODES = ("linear", "fanout")


def build_sources(
    corpus: str | Path | None = None,
    sources_file: str | Path | None = None,
    documents: list[dict[str, str]] | None = None,
) -> SourcesSpec | None:
    """Validate the material up front so a bad path fails before any run is created."""
    from app.research.sources import check_folder, parse_documents, read_sources_file

    given = [x is not None for x in (corpus, sources_file, documents)]
    if sum(given) > 1:
        raise InputError("give only one of corpus, sources file or documents")
    if corpus is not None:
        path = Path(corpus).expanduser()
        check_folder(path)
        return {"kind": "corpus", "path": path_for_state(path.resolve())}
    if sources_file is not None:
        return {"kind": "inline", "documents": read_sources_file(sources_file)}
    if documents is not None:
        parse_documents(documents, "documents")
        return {"kind": "inline", "documents": list(documents)}
    return None


def _command(resume: dict[str, Any] | None, update: dict[str, Any] | None = None) -> Any:
    # Imported here: commands that only read runs never load langgraph's graph machinery.
    from langgraph.types import Command

    return Command(resume=resume, update=update)


def parse_decision(payload: Decision | dict[str, Any]) -> Decision:
    if isinstance(payload, Decision):
        return payload
    if not isinstance(payload, dict):
        raise InputError('a decision must be an object like {"decision": "approve"}')
    if any("\x00" in str(v) for v in payload.values()):
        # PostgreSQL cannot store NUL in text: refuse it before a claim is taken.
        raise InputError("a decision must not contain a NUL character")
    try:
        # Text a person typed can hold a configured secret: it is masked before it is stored.
        return Decision.model_validate(scrub(payload))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "decision"
        raise InputError(f"invalid decision ({where}): {first['msg']}") from None


class Harness:
    def __init__(
        self,
        store: Store,
        settings: Settings | None = None,
        roles: Roles | None = None,
        *,
        durability: Durability = DURABILITY,
        printing: bool = False,
    ):
        self.store = store
        self.settings = settings or Settings.from_env()
        self.roles = roles
        self.durability = durability  # other modes exist for bench/bench_durability.py
        # The views are only printed (`harness list`, `show`): where the store can (SQLite),
        # runs are read from its rows without loading LangGraph, and the chat messages in them
        # are `StoredMessage` records that print (`json_default`) as the messages do.
        self.printing = printing
        self._graphs: dict[tuple[str, Policy | None], CompiledStateGraph] = {}
        self._policy: Policy | None = None

    @classmethod
    @contextmanager
    def open(
        cls,
        settings: Settings | None = None,
        roles: Roles | None = None,
        *,
        printing: bool = False,
    ) -> Iterator[Harness]:
        settings = settings or Settings.from_env()
        with open_store(settings) as store:
            yield cls(store, settings, roles, printing=printing)

    @classmethod
    def in_memory(cls, settings: Settings | None = None, roles: Roles | None = None) -> Harness:
        return cls(memory_store(), settings, roles)

    # -- graphs -----------------------------------------------------------------------------

    def graph(self, mode: str = "linear", policy: Policy | None = None) -> CompiledStateGraph:
        """The compiled graph of `mode`; with `policy`, one that enforces that policy (a run's
        stored one) instead of this process's own."""
        if mode not in MODES:
            raise InputError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
        key = (mode, None if policy == self.policy else policy)
        if key not in self._graphs:
            if mode == "fanout":
                from graphs.research_team import build_graph
            else:
                from graphs.harness import build_graph
            self._graphs[key] = build_graph(
                self.store.checkpointer,
                settings=self.settings,
                roles=self.roles,
                blobs=self.store.blobs,
                policy=key[1] or self.policy,
                claims=self.store.registry,  # the gate claims where this API claims
            )
        return self._graphs[key]

    @property
    def policy(self) -> Policy:
        """This process's policy (HARNESS_POLICY_FILE or the default): what a new run gets."""
        if self._policy is None:
            self._policy = Policy.load(self.settings)
        return self._policy

    def run_policy(self, run_id: str) -> tuple[Policy, bool]:
        """The policy stored with the run, and True; runs from before policies were stored get
        this process's policy, and False."""
        record = self.store.registry.run_policy(run_id)
        return (Policy.from_record(record), True) if record else (self.policy, False)

    @staticmethod
    def _config(run_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": run_id}}

    @one_listing_per_run()  # a fresh scope for each call
    def run_graph(
        self, mode: str, payload: Any, config: dict[str, Any], on_event: EventHandler | None
    ) -> Computed | None:
        """Run `payload` (an input, a Command, or None to continue) to the next stop, handing
        each trace event to `on_event` as it happens. Returns the state at the stop as the
        graph computed it, with the checkpoint it saved last (None: it saved none). The graph
        enforces the run's own policy. Ctrl-C and a failing store stop it with one clear
        error; what was saved before stays saved, so the run is resumable."""
        thread_id = config["configurable"]["thread_id"]
        values: dict[str, Any] = {}
        try:
            with store_faults(), recording() as saved:
                policy, _stored = self.run_policy(thread_id)
                graph = self.graph(mode, policy)
                if on_event is None:
                    # Nobody listens: no live stream. With "custom" streaming on, LangGraph
                    # runs every step on its thread pool beside a waiter that wakes for each
                    # event (~0.5 ms of thread hand-offs per step); without it, inline.
                    values = graph.invoke(payload, config, durability=self.durability) or {}
                else:
                    for kind, chunk in graph.stream(
                        payload, config, stream_mode=["custom", "values"],
                        durability=self.durability,
                    ):
                        if kind == "custom":
                            on_event(chunk)
                        else:
                            values = chunk
                if self.store.sync is not None:
                    self.store.sync()  # the stop (gate, end) is durable before the caller is told
        except KeyboardInterrupt:
            raise RunStopped(thread_id) from None
        if saved and saved[-1][0] == thread_id:
            return Computed(checkpoint_id=saved[-1][1], values=values)
        return None

    def _stream(
        self, mode: str, payload: Any, run_id: str, on_event: EventHandler | None
    ) -> RunView:
        computed = self.run_graph(mode, payload, self._config(run_id), on_event)
        return self._view(self._record(run_id), computed=computed)

    # -- runs -------------------------------------------------------------------------------

    @one_listing_per_run()  # a fresh scope for each call
    def start(
        self,
        topic: str,
        *,
        corpus: str | Path | None = None,
        sources_file: str | Path | None = None,
        documents: list[dict[str, str]] | None = None,
        output_path: str | Path | None = None,
        mode: str = "linear",
        run_id: str | None = None,
        on_event: EventHandler | None = None,
    ) -> RunView:
        # A run moves: the graph machinery is loaded anyway.
        from app.nodes.intake import first_checkpoint
        from app.nodes.steps import validate_topic

        topic = validate_topic(topic)
        sources = build_sources(corpus, sources_file, documents)
        self.graph(mode)  # validates the mode before anything is stored
        # Refused now, not stored as a failed run: a corpus (given or the default one) with
        # nothing readable, a bad output path. Reading the corpus now also builds its index
        # once, for the steps to reuse.
        if sources is None or sources["kind"] == "corpus":
            from app.research.sources import open_sources

            open_sources(sources, self.settings.corpus, self.settings.home)
        if output_path is not None:
            Policy.load(self.settings).check_write(output_path)
        given_id = run_id is not None
        run_id = run_id or uuid.uuid4().hex
        payload: dict[str, Any] = {"topic": topic}
        if sources:
            payload["sources"] = sources
        if output_path is not None:
            payload["output_path"] = path_for_state(output_path)
        config = self._config(run_id)
        with store_faults():
            # A fresh uuid4 cannot exist yet; only an id the caller chose is looked up.
            if given_id and (
                self.store.registry.get_run(run_id) or self.store.checkpointer.get_tuple(config)
            ):
                raise InputError(f"run {run_id} already exists")
            if sources and sources.get("kind") == "inline" and self.store.blobs is not None:
                # Stored once, by content; every checkpoint then holds only the reference.
                payload["sources"] = sources_by_reference(
                    self.store.blobs, run_id, scrub(sources)
                )
            payload = scrub(payload)  # inline sources can quote a configured secret
            # The input is checkpointed before the run is registered: a process killed at any
            # instant leaves either no listed run or one that `resume` continues from its input.
            # The thread is new, so that checkpoint is `intake`'s own output, saved as that
            # node (app/nodes/intake.py): one checkpoint where LangGraph's input path makes
            # three (input, __start__, intake), and the run goes on at `plan`.
            first, events = first_checkpoint(payload)
            self.graph(mode).update_state(config, first, as_node="intake")
            self.store.registry.save_policy(run_id, self.policy.to_record())
            try:
                self.store.registry.add_run(run_id, payload["topic"], mode)
            except KeyboardInterrupt:
                # Registered or not, the input is saved: if listed, `resume` starts it.
                raise RunStopped(run_id) from None
        if on_event is not None:
            for event in events:  # intake's events, as its node would have streamed them
                on_event(event)
        return self._stream(mode, None, run_id, on_event)

    def _record(self, run_id: str | None) -> RunRecord:
        if run_id is None:  # `--latest`; the string "latest" is looked up like any other id
            record = self.store.registry.latest_run()
            if record is None:
                raise RunNotFound("there are no runs yet")
            return record
        if not isinstance(run_id, str):
            raise InputError("a run id must be a string")
        record = self.store.registry.get_run(run_id)
        if record is None:
            matches = self.store.registry.runs_with_prefix(run_id) if len(run_id) >= 6 else []
            if len(matches) == 1:
                return matches[0]
            shown = sanitize(run_id)
            if len(matches) > 1:
                raise RunNotFound(f"run id prefix {shown!r} is ambiguous: give more characters")
            raise RunNotFound(f"no run with id {shown!r} (see `harness list`)")
        return record

    def resolve_id(self, run_id: str | None) -> str:
        return self._record(run_id).run_id

    def get(self, run_id: str | None) -> RunView:
        return self._view(self._record(run_id))

    def _gate_view(self, run_id: str | None) -> RunView:
        """The run as deciding on it needs it: status, gate and next step, without the keys
        rebuilt from the run's writes (its trace, draft, matches and facts)."""
        return self._view(self._record(run_id), complete=False)

    def _view(
        self, record: RunRecord, complete: bool = True, computed: Computed | None = None
    ) -> RunView:
        # Most runs sit on a checkpoint the saver alone can read (app/store/snapshot.py);
        # the others are asked of the graph. `computed`: what this process's graph just
        # computed, used where it is still the run's latest checkpoint (app/store/written.py).
        stored = self._read_latest(record.run_id, complete, computed)
        if stored is not None:
            interrupt = (
                (stored.interrupt_value, stored.interrupt_id) if stored.interrupt_id else None
            )
            return run_view(
                record, stored.values, stored.next, False, interrupt, stored.checkpoint_id
            )
        snapshot = self.graph(record.mode).get_state(self._config(record.run_id))
        first = snapshot.interrupts[0] if snapshot.interrupts else None
        return run_view(
            record,
            snapshot.values,
            tuple(snapshot.next),
            bool(snapshot.tasks),
            (first.value, first.id) if first else None,
            (snapshot.config or {}).get("configurable", {}).get("checkpoint_id"),
        )

    def _read_latest(
        self, run_id: str, complete: bool, computed: Computed | None
    ) -> StoredState | None:
        if self.printing and computed is None and self.store.rows is not None:
            try:
                return read_latest(self.store.rows, run_id, complete=complete)
            except NeedsSaver:
                pass  # a value only LangGraph's serializer decodes: read through the saver
        return read_latest(self.store.checkpointer, run_id, complete=complete, computed=computed)

    def list(self, limit: int = 50) -> list[RunView]:
        # From the listed records directly: looking each id up again cost a query per run.
        with store_faults():
            return [self._view_or_damaged(r) for r in self.store.registry.list_runs(limit)]

    def _view_or_damaged(self, record: RunRecord) -> RunView:
        """One run whose checkpoint cannot be read must not hide all the others."""
        try:
            return self._view(record)
        except HarnessError:
            raise  # a settings problem (a bad policy file), not this run's
        except Exception as exc:  # any decoding error of a damaged checkpoint
            error = {"step": "store", "message": f"cannot read this run: {type(exc).__name__}"}
            return RunView(
                run_id=record.run_id,
                status="damaged",
                values={"error": error},
                topic=record.topic,
                mode=record.mode,
                created_at=record.created_at,
            )

    def pending(self, run_id: str | None) -> dict[str, Any]:
        run = self.get(run_id)
        if run.pending is None:
            raise NotWaiting(f"run {run.run_id} is {run.status}; it is not waiting for approval")
        return run.pending

    def history(
        self, run_id: str | None, *, event: str | None = None, tail: int | None = None
    ) -> list[dict[str, Any]]:
        trace = self.get(run_id).trace
        if event:
            trace = [e for e in trace if e.get("event") == event]
        if tail is not None:
            if tail < 0:
                raise InputError("--tail must be zero or more")
            trace = trace[-tail:] if tail else []
        return trace

    # -- inspection: the same numbers as the trace Studio shows --------------------------------

    def trace_summary(self, run_id: str | None) -> dict[str, Any]:
        """Counts by event and step, per-step time and attempts, gate waits, revisions,
        resumes, token usage and cost per role (app/service/trace_summary.py)."""
        return trace_summary(self.get(run_id))

    def summary(self, run_id: str | None) -> dict[str, Any]:
        """The run's operational summary (app/service/run_summary.py)."""
        run = self.get(run_id)
        policy, stored = self.run_policy(run.run_id)
        return operational_summary(run, run.summary(), trace_summary(run), policy, stored)

    def policy_info(self, run_id: str | None = None) -> dict[str, Any]:
        """The policy a run is held to (stored when it started); with no id, the policy a new
        run would get in this process."""
        from app.service.policy_info import describe_policy  # builds the graph anyway

        if run_id is None:
            return {"run_id": None, **describe_policy(self.policy, self.graph(), stored=False)}
        run = self.get(run_id)
        policy, stored = self.run_policy(run.run_id)
        graph = self.graph(run.mode, policy)
        return {"run_id": run.run_id, **describe_policy(policy, graph, stored=stored)}

    def memory(
        self, run_id: str | None, *, query: str | None = None, top_k: int = 5
    ) -> dict[str, Any]:
        """Working context, session state and a ranked query over the run's retrieved
        sources and facts (app/service/memory.py)."""
        run = self.get(run_id)
        from app.service.memory import memory_snapshot  # loads the search machinery

        return memory_snapshot(
            run, self.settings, created_at=run.created_at, query=query, top_k=top_k
        )

    # -- decisions --------------------------------------------------------------------------

    def decide(
        self,
        run_id: str | None,
        decision: Decision | dict[str, Any],
        *,
        gate: str | None = None,
        on_event: EventHandler | None = None,
    ) -> RunView:
        """Answer the gate. `gate` (a RunView's `.gate`) binds the answer to the draft that was
        read: if another answer moved the gate on (a redraft), this one is refused as stale."""
        if isinstance(decision, dict) and gate is not None:
            decision = {**decision, **parse_gate_token(gate)}
        choice = parse_decision(decision)
        run = self._gate_view(run_id)
        if run.pending is None or run.interrupt_id is None:
            if run.status in TERMINAL_STATUSES:
                raise AlreadyDecided(f"run {run.run_id} is already {run.status}; nothing to decide")
            if (run.values.get("approval") or {}).get("decision"):
                # Another caller's decision is being carried out right now (or its process
                # stopped after the gate): this approval is decided either way.
                decided = run.values["approval"]["decision"]
                hint = ""
                if run.status == "interrupted":
                    hint = f"; `harness resume {run.run_id[:8]}` carries it out"
                raise AlreadyDecided(
                    f"run {run.run_id}: this approval was already decided ({decided}); "
                    f"the run is {run.status}{hint}"
                )
            raise NotWaiting(f"run {run.run_id} is {run.status}; it is not waiting for approval")
        current = Gate(run.interrupt_id, draft_sha256(run.pending.get("draft") or ""))
        stale = stale_reason(choice, current)
        if stale:
            raise StaleDecision(f"run {run.run_id}: {stale}")
        payload = choice.model_dump(exclude_none=True)
        # Names this delivery: the graph's own claim (app/nodes/gate.py) recognises it, and
        # `resume` re-sends it after a crash.
        payload.setdefault("decision_id", uuid.uuid4().hex)

        from app.nodes.guard import block_for_crash_test

        block_for_crash_test("claim")  # test-only hook: two callers collide here
        if not self.store.registry.claim_decision(run.run_id, run.interrupt_id, payload):
            raise AlreadyDecided(
                f"run {run.run_id}: this approval was already decided "
                f"(if that caller stopped, `harness resume {run.run_id[:8]}` finishes it)"
            )
        return self._continue(run, payload, "decision", on_event)

    def _continue(
        self,
        run: RunView,
        resume: dict[str, Any] | None,
        reason: str,
        on_event: EventHandler | None,
    ) -> RunView:
        """Carry a stopped run on from its saved checkpoint, recording `run_resumed` (from
        which step, and why) in its trace first."""
        event = make_event(
            "run_resumed", run.next[0] if run.next else "unknown", reason=reason,
            from_step=run.next[0] if run.next else None, status=run.status,
        )
        if on_event is not None:
            on_event(event)
        command = _command(resume, update={"trace": [event]})
        return self._stream(run.mode, command, run.run_id, on_event)

    def approve(self, run_id: str | None, *, by: str | None = None, **kw: Any) -> RunView:
        """`gate=run.gate` binds the approval to the draft you read (see `decide`)."""
        return self.decide(run_id, {"decision": "approve", "by": by}, **kw)

    def edit(
        self, run_id: str | None, markdown: str, *, by: str | None = None, **kw: Any
    ) -> RunView:
        return self.decide(run_id, {"decision": "edit", "markdown": markdown, "by": by}, **kw)

    def reject(
        self, run_id: str | None, *, feedback: str | None = None, by: str | None = None, **kw: Any
    ) -> RunView:
        return self.decide(run_id, {"decision": "reject", "feedback": feedback, "by": by}, **kw)

    # A run that stopped (a crash, a kill) continues on the index its start brought up to date.
    @one_listing_per_run(trust_built_index=True)
    def resume(self, run_id: str | None, *, on_event: EventHandler | None = None) -> RunView:
        """Continue a run that stopped between steps, or finish a decision whose caller died."""
        run = self._gate_view(run_id)
        if run.pending is not None and run.interrupt_id is not None:
            claimed = self.store.registry.claimed_decision(run.run_id, run.interrupt_id)
            if claimed is None:
                raise NotWaiting(
                    f"run {run.run_id} is waiting for approval: use approve, edit or reject"
                )
            return self._continue(run, claimed, "claimed_decision", on_event)
        if run.status != "interrupted":
            raise NotWaiting(f"run {run.run_id} is already {run.status}; nothing to resume")
        return self._continue(run, None, "interrupted", on_event)

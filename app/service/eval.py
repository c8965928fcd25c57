"""The eval suite: run fixture cases through each orchestration mode and check the outcome.

A fixture file is JSON: `{"cases": [CASE, ...]}` (or a bare list). A case:

    {
      "name": "pass-sample-corpus",
      "topic": "How do heat pumps work?",
      "corpus": "sample_corpus",             # or "sources": "file.json"; paths are relative to
                                             # the fixture file; neither = the default corpus
      "modes": ["linear", "fanout"],         # optional: the modes this case applies to
      "auto_approve": true,                  # or "decisions": [{"decision": "reject", ...}, ...]
      "fault": {"role": "facts", "message": "model endpoint unavailable",
                "calls": 2, "question_contains": "limitations"},    # optional, see Fault
      "expect": {
        "status": "completed",
        "events": ["plan_ready", {"event": "tool_error", "will_retry": false}],
        "min_facts": 4, "min_citations": 3,  # facts in state; distinct sources cited in the draft
        "report": true,                      # a report file was (or was not) written
        "report_checks": true,               # every cited sentence cites a corpus section
        "draft_contains": ["Evidence Gaps"]
      },
      "expect_by_mode": {"fanout": {"status": "completed"}}   # per-mode overrides of `expect`
    }

A fault makes one role raise deterministically inside the real graph, so a tool error goes
through the real RetryPolicy, the trace and the `tool_error` edge: `calls: N` fails the first N
calls (then the role works), no `calls` fails every call; `question_contains` (facts only)
fails only extractions whose questions mention that text.

Cases in the original harness's fixture format (`expected_status`, `required_events`,
`source_file`, ...) are accepted too and translated (app/service/eval_compat.py).

Each case runs in a fresh in-memory store with reports under a temporary HARNESS_HOME (no
policy file), so an eval never touches the user's runs.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.config import Settings
from app.errors import InputError
from app.models.choice import roles_for
from app.research.index import SectionIndex
from app.research.report_format import parse_report
from app.research.roles import Roles
from app.research.sources import open_sources
from app.service.eval_compat import from_original_case, is_original_case
from app.service.runs import MODES, Harness, RunView, build_sources
from app.service.trace_summary import current_step
from app.state import Decision

ROLE_METHODS = {"planner": "plan", "facts": "extract", "drafter": "draft", "reviewer": "review"}
STATUSES = ("completed", "failed", "cancelled", "waiting_approval")
EXPECT_KEYS = frozenset(
    {"status", "events", "min_facts", "min_citations", "report", "report_checks", "draft_contains",
     "current_step", "min_trace_events"}
)
CASE_KEYS = frozenset(
    {"name", "topic", "corpus", "sources", "modes", "auto_approve", "decisions", "fault",
     "expect", "expect_by_mode", "description"}
)


class InjectedFault(RuntimeError):
    """What a faulty role raises: an ordinary exception, so the retry policy treats it as real."""


@dataclass(frozen=True)
class Fault:
    role: str
    message: str = "injected fault"
    calls: int | None = None
    question_contains: str | None = None


class FaultyRole:
    """Wraps a role; its main method raises per the fault, everything else is delegated."""

    def __init__(self, inner: Any, fault: Fault):
        self._inner = inner
        self._fault = fault
        self._method = ROLE_METHODS[fault.role]
        self._failed = 0
        self._lock = threading.Lock()
        self.provider = f"{getattr(inner, 'provider', 'role')}+fault"

    def _should_fail(self, args: tuple[Any, ...]) -> bool:
        wanted = self._fault.question_contains
        if wanted is not None:
            questions = args[1] if len(args) > 1 else []
            if not any(wanted.lower() in q.lower() for q in questions):
                return False
        with self._lock:
            if self._fault.calls is not None and self._failed >= self._fault.calls:
                return False
            self._failed += 1
            return True

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name != self._method:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._should_fail(args):
                raise InjectedFault(self._fault.message)
            return attr(*args, **kwargs)

        return call


@dataclass
class Case:
    name: str
    topic: str
    corpus: Path | None = None
    sources: Path | None = None
    modes: tuple[str, ...] = MODES
    decisions: list[dict[str, Any]] = field(default_factory=list)
    auto_approve: bool = False
    fault: Fault | None = None
    expect: dict[str, Any] = field(default_factory=dict)
    expect_by_mode: dict[str, dict[str, Any]] = field(default_factory=dict)

    def expectations(self, mode: str) -> dict[str, Any]:
        return {**self.expect, **self.expect_by_mode.get(mode, {})}


# -- loading and validating fixtures ----------------------------------------------------------


def _fail(where: str, message: str) -> InputError:
    return InputError(f"{where}: {message}")


def _check_expect(expect: Any, where: str) -> dict[str, Any]:
    if not isinstance(expect, dict):
        raise _fail(where, "'expect' must be an object")
    unknown = set(expect) - EXPECT_KEYS
    if unknown:
        raise _fail(where, f"unknown expect keys {sorted(unknown)} (known: {sorted(EXPECT_KEYS)})")
    if "status" in expect and expect["status"] not in STATUSES:
        raise _fail(where, f"expect.status must be one of {', '.join(STATUSES)}")
    if "current_step" in expect and not isinstance(expect["current_step"], str):
        raise _fail(where, "expect.current_step must be a step name")
    for key in ("min_facts", "min_citations", "min_trace_events"):
        if key in expect and (
            not isinstance(expect[key], int) or isinstance(expect[key], bool) or expect[key] < 0
        ):
            raise _fail(where, f"expect.{key} must be a non-negative integer")
    for key in ("report", "report_checks"):
        if key in expect and not isinstance(expect[key], bool):
            raise _fail(where, f"expect.{key} must be true or false")
    events = expect.get("events", [])
    if not isinstance(events, list) or not all(
        isinstance(e, str) or (isinstance(e, dict) and isinstance(e.get("event"), str))
        for e in events
    ):
        raise _fail(where, "expect.events must list event names or {\"event\": ..., ...} objects")
    contains = expect.get("draft_contains", [])
    if not isinstance(contains, list) or not all(isinstance(c, str) for c in contains):
        raise _fail(where, "expect.draft_contains must be a list of strings")
    return expect


def _parse_fault(raw: Any, where: str) -> Fault:
    if not isinstance(raw, dict) or raw.get("role") not in ROLE_METHODS:
        raise _fail(where, f"fault.role must be one of {', '.join(ROLE_METHODS)}")
    unknown = set(raw) - {"role", "message", "calls", "question_contains"}
    if unknown:
        raise _fail(where, f"unknown fault keys {sorted(unknown)}")
    calls = raw.get("calls")
    if calls is not None and (not isinstance(calls, int) or calls < 1):
        raise _fail(where, "fault.calls must be a positive integer (omit it to fail every call)")
    contains = raw.get("question_contains")
    if contains is not None and (raw["role"] != "facts" or not isinstance(contains, str)):
        raise _fail(where, "fault.question_contains is a string and applies to role 'facts' only")
    return Fault(raw["role"], str(raw.get("message") or "injected fault"), calls, contains)


def _parse_case(raw: Any, number: int, base: Path) -> Case:
    where = f"case {number}"
    if not isinstance(raw, dict):
        raise _fail(where, "a case must be an object")
    if is_original_case(raw):
        raw = from_original_case(raw, where)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(where, "needs a non-empty 'name'")
    where = f"case {number} ({name})"
    unknown = set(raw) - CASE_KEYS
    if unknown:
        raise _fail(where, f"unknown keys {sorted(unknown)}")
    topic = raw.get("topic")
    if not isinstance(topic, str) or not topic.strip():
        raise _fail(where, "needs a non-empty 'topic'")
    paths: dict[str, Path | None] = {}
    for key in ("corpus", "sources"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise _fail(where, f"'{key}' must be a path")
        paths[key] = (base / value).resolve() if value else None
    if paths["corpus"] and paths["sources"]:
        raise _fail(where, "give 'corpus' or 'sources', not both")
    try:
        build_sources(paths["corpus"], paths["sources"])
    except InputError as exc:
        raise _fail(where, str(exc)) from None
    modes = raw.get("modes", list(MODES))
    if not isinstance(modes, list) or not modes or not set(modes) <= set(MODES):
        raise _fail(where, f"'modes' must list some of {', '.join(MODES)}")
    decisions = raw.get("decisions", [])
    auto_approve = raw.get("auto_approve", False)
    if not isinstance(auto_approve, bool):
        raise _fail(where, "'auto_approve' must be true or false")
    if auto_approve and decisions:
        raise _fail(where, "give 'auto_approve' or 'decisions', not both")
    if not isinstance(decisions, list):
        raise _fail(where, "'decisions' must be a list of decision objects")
    for i, decision in enumerate(decisions, start=1):
        try:
            Decision.model_validate(decision)
        except Exception as exc:  # pydantic's message names the bad field
            raise _fail(where, f"decision {i} is invalid: {exc}".splitlines()[0]) from None
    expect = _check_expect(raw.get("expect", {}), where)
    by_mode = raw.get("expect_by_mode", {})
    if not isinstance(by_mode, dict) or not set(by_mode) <= set(MODES):
        raise _fail(where, f"'expect_by_mode' keys must be some of {', '.join(MODES)}")
    by_mode = {m: _check_expect(e, f"{where} [{m}]") for m, e in by_mode.items()}
    return Case(
        name=name.strip(),
        topic=topic,
        corpus=paths["corpus"],
        sources=paths["sources"],
        modes=tuple(m for m in MODES if m in modes),
        decisions=list(decisions),
        auto_approve=auto_approve,
        fault=_parse_fault(raw["fault"], where) if raw.get("fault") is not None else None,
        expect=expect,
        expect_by_mode=by_mode,
    )


def load_fixtures(path: str | Path) -> list[Case]:
    file = Path(path).expanduser()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"fixture file not found: {file}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read fixture file {file}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"fixture file {file} is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    raw_cases = data.get("cases") if isinstance(data, dict) else data
    if not isinstance(raw_cases, list) or not raw_cases:
        raise InputError(f"{file}: expected {{\"cases\": [...]}} with at least one case")
    cases = [_parse_case(raw, i, file.resolve().parent) for i, raw in enumerate(raw_cases, 1)]
    names = [c.name for c in cases]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise InputError(f"{file}: case name {duplicate!r} is used twice")
    return cases


# -- checks -----------------------------------------------------------------------------------


def _event_matches(event: dict[str, Any], wanted: str | dict[str, Any]) -> bool:
    if isinstance(wanted, str):
        return event.get("event") == wanted
    return all(event.get(k) == v for k, v in wanted.items())


def report_problems(markdown: str, index: SectionIndex) -> list[str]:
    """Every claim cites a listed source, and every cited source is a section of the corpus."""
    parsed = parse_report(markdown)
    problems = []
    known = set(index.sections([sid for _title, sid in parsed.sources.values() if sid]))
    if not parsed.findings:
        problems.append("no cited sentences")
    for text, cites in parsed.findings:
        if not cites:
            problems.append(f"claim without a citation: {text[:60]}")
        for n in cites:
            if n not in parsed.sources:
                problems.append(f"claim cites [{n}], which is not in Sources")
                continue
            title, source_id = parsed.sources[n]
            if source_id not in known:
                problems.append(f"source [{n}] {source_id or title!r} is not in the corpus")
    return sorted(set(problems))


def cited_sources(markdown: str) -> int:
    parsed = parse_report(markdown)
    return len({n for _text, cites in parsed.findings for n in cites if n in parsed.sources})


def check_run(run: RunView, expect: dict[str, Any], index: SectionIndex) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool, detail: str) -> None:
        checks.append({"check": name, "ok": bool(ok), "detail": detail})

    values = run.values
    if "status" in expect:
        check("status", run.status == expect["status"], f"{run.status} (want {expect['status']})")
    if "current_step" in expect:
        step = current_step(run)
        check("current_step", step == expect["current_step"],
              f"{step} (want {expect['current_step']})")
    if "min_trace_events" in expect:
        n = len(run.trace)
        check("min_trace_events", n >= expect["min_trace_events"],
              f"{n} events (want >= {expect['min_trace_events']})")
    for wanted in expect.get("events", []):
        label = wanted if isinstance(wanted, str) else json.dumps(wanted, sort_keys=True)
        check(f"event {label}", any(_event_matches(e, wanted) for e in run.trace), "in trace")
    facts = len(values.get("facts") or [])
    if "min_facts" in expect:
        check("min_facts", facts >= expect["min_facts"], f"{facts} (want >= {expect['min_facts']})")
    draft = values.get("draft") or ""
    if "min_citations" in expect:
        n = cited_sources(draft)
        check("min_citations", n >= expect["min_citations"],
              f"{n} sources cited (want >= {expect['min_citations']})")
    for text in expect.get("draft_contains", []):
        check(f"draft contains {text!r}", text in draft, "in the draft")
    report = values.get("report")
    if "report" in expect:
        if expect["report"]:
            path = Path(report["path"]) if report else None
            ok = bool(path and path.is_file()) and (
                hashlib.sha256(path.read_bytes()).hexdigest() == report["sha256"]
            )
            check("report", ok, f"written at {path}" if ok else "no report file with its sha256")
        else:
            out = values.get("output_path")
            ok = not report and not (out and Path(out).exists())
            check("no report", ok, "nothing written" if ok else f"a report exists at {out}")
    if expect.get("report_checks", True) and draft:
        markdown = Path(report["path"]).read_text(encoding="utf-8") if report else draft
        problems = report_problems(markdown, index)
        check("report cites the corpus", not problems, "; ".join(problems) or "every claim cited")
    return checks


# -- running ----------------------------------------------------------------------------------


def eval_settings(base: Settings, home: Path) -> Settings:
    return base.model_copy(update={"home": home, "output_root": None, "policy_file": None})


def case_roles(settings: Settings, fault: Fault | None) -> Roles:
    roles = roles_for(settings)
    if fault is None:
        return roles
    return replace(roles, **{fault.role: FaultyRole(getattr(roles, fault.role), fault)})


def run_case(case: Case, mode: str, settings: Settings) -> dict[str, Any]:
    h = Harness.in_memory(settings, roles=case_roles(settings, case.fault))
    spec = build_sources(case.corpus, case.sources)
    index = open_sources(spec, settings.corpus, settings.home)
    started = time.perf_counter()
    result: dict[str, Any] = {"case": case.name, "mode": mode}
    try:
        run = h.start(case.topic, corpus=case.corpus, sources_file=case.sources, mode=mode)
        decisions = list(case.decisions)
        while run.status == "waiting_approval" and (decisions or case.auto_approve):
            decision = decisions.pop(0) if decisions else {"decision": "approve", "by": "eval"}
            run = h.decide(run.run_id, decision)
    except Exception as exc:  # a crash is a failed case, reported with the others
        result.update(status="error", passed=False, steps=0, facts=0, citations=0, tool_errors=0,
                      wall_s=round(time.perf_counter() - started, 3),
                      checks=[{"check": "run", "ok": False,
                               "detail": f"{type(exc).__name__}: {exc}"}])
        return result
    wall = time.perf_counter() - started
    snapshot = h.graph(mode).get_state({"configurable": {"thread_id": run.run_id}})
    checks = check_run(run, case.expectations(mode), index)
    if decisions:
        checks.append({"check": "decisions used", "ok": False,
                       "detail": f"{len(decisions)} decision(s) left; the run is {run.status}"})
    result.update(
        status=run.status,
        passed=all(c["ok"] for c in checks),
        steps=(snapshot.metadata or {}).get("step", 0),
        facts=len(run.values.get("facts") or []),
        citations=cited_sources(run.values.get("draft") or ""),
        tool_errors=sum(e.get("event") == "tool_error" for e in run.trace),
        wall_s=round(wall, 3),
        checks=checks,
    )
    return result


def run_eval(
    cases: list[Case], modes: tuple[str, ...], settings: Settings | None = None
) -> dict[str, Any]:
    """Run every case in every requested mode it applies to; returns per-mode summaries."""
    settings = settings or Settings.from_env()
    summary: dict[str, Any] = {"modes": {}, "passed": True}
    with tempfile.TemporaryDirectory(prefix="harness-eval-") as home:
        isolated = eval_settings(settings, Path(home))
        for mode in modes:
            results = [run_case(c, mode, isolated) for c in cases if mode in c.modes]
            passed = sum(r["passed"] for r in results)
            summary["modes"][mode] = {
                "runs": len(results),
                "passed": passed,
                "failed": len(results) - passed,
                "mean_steps": round(sum(r["steps"] for r in results) / len(results), 2)
                if results else 0,
                "wall_s": round(sum(r["wall_s"] for r in results), 3),
                "cases": results,
            }
            summary["passed"] = summary["passed"] and passed == len(results)
    return summary


def parse_modes(mode: str) -> tuple[str, ...]:
    if mode == "all":
        return MODES
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)} or all")
    return (mode,)

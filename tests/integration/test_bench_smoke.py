"""Every benchmark in bench/ still runs (tiny sizes, `--quick`) and prints its figures and its
ratio against the baseline it measures in the same run, so the scripts cannot rot.

Targets are not asserted here (a loaded CI machine says little about speed); the scripts report
them as met / not met. What is asserted is what a person running `make bench` relies on: exit 0,
the named figures and ratio lines, and the same figures in the JSON file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.langgraph_server import server_available

pytestmark = pytest.mark.integration

FIGURE = re.compile(r"^figure (\S+): (-?[\d,]+(?:\.\d+)?)", re.M)
RATIO = re.compile(r"^ratio (\S+): (\d+(?:\.\d+)?)x", re.M)


def run_bench(name: str, tmp_path: Path, *args: str, timeout: float = 180) -> tuple[str, dict]:
    result_file = tmp_path / f"{name}.json"
    env = {**os.environ, "HARNESS_HOME": str(tmp_path / "unused-home")}
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--quick", "--json", str(result_file), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert proc.stdout.startswith(f"== {name}:"), proc.stdout[:500]
    data = json.loads(result_file.read_text())
    figures = {k: float(v.replace(",", "")) for k, v in FIGURE.findall(proc.stdout)}
    ratios = {k: float(v) for k, v in RATIO.findall(proc.stdout)}
    # What is printed is what is saved.
    assert set(figures) == set(data["figures"])
    assert set(ratios) == set(data["ratios"])
    assert data["quick"] is True
    return proc.stdout, {"figures": figures, "ratios": ratios, "json": data}


def test_overhead_compares_the_harness_with_bare_langgraph_and_the_json_loop(tmp_path):
    out, r = run_bench("bench_overhead", tmp_path)
    for key in (
        "harness_runs_per_s",
        "bare_langgraph_runs_per_s",
        "json_loop_runs_per_s",
        "bare_langgraph_same_work_ms_per_run",
    ):
        assert r["figures"][key] > 0
    # The target is read against bare LangGraph doing the same domain work at the same stops.
    ratio = r["ratios"]["orchestration_vs_bare_langgraph"]
    expected = (
        r["figures"]["bare_langgraph_same_work_synced_ms_per_run"]
        / r["figures"]["harness_ms_per_run"]
    )
    assert ratio == pytest.approx(expected, rel=0.02)
    assert re.search(
        r"ratio orchestration_vs_bare_langgraph: .*\[target >= 0\.8x: (met|NOT met)\]", out
    )
    assert r["ratios"]["harness_vs_bare_langgraph"] > 0
    assert r["ratios"]["harness_vs_json_loop"] > 0


def test_durability_times_each_mode_against_sync(tmp_path):
    out, r = run_bench("bench_durability", tmp_path)
    for mode in ("sync", "async", "exit"):
        assert r["figures"][f"sqlite_{mode}_ms_per_run"] > 0
    sync_ms = r["figures"]["sqlite_sync_ms_per_run"]
    for mode in ("async", "exit"):
        expected = sync_ms / r["figures"][f"sqlite_{mode}_ms_per_run"]
        assert r["ratios"][f"sqlite_{mode}_vs_sync"] == pytest.approx(expected, abs=0.02)
    assert "ratio sqlite_exit_vs_sync:" in out
    if "sqlite_syncs_per_run" in r["figures"]:  # counted with strace where it is installed
        f = r["figures"]
        assert 0 < f["sqlite_syncs_per_run"] < f["sqlite_syncs_per_run_fsync_every_commit"]


def test_store_reports_bytes_per_run_growth_and_list_time(tmp_path):
    out, r = run_bench("bench_store", tmp_path)
    per_run = r["figures"]["bytes_per_completed_run"]
    assert per_run > 0
    assert r["figures"]["checkpoints_per_run"] >= 8  # one per step of a full run
    # A revision adds checkpoints and trace events, so it adds bytes.
    assert r["figures"]["bytes_per_run_rev1"] > r["figures"]["bytes_per_run_rev0"]
    assert r["figures"]["trace_events_rev1"] > r["figures"]["trace_events_rev0"]
    assert r["figures"]["list_20_runs_ms"] > 0
    assert re.search(r"^target bytes_per_completed_run: .*(met|NOT met)$", out, re.M)
    assert {"harness_vs_bare_langgraph_bytes", "list_api_vs_registry_query"} <= set(r["ratios"])


def test_profile_splits_time_between_our_code_and_the_framework(tmp_path):
    out, r = run_bench("profile_hot_path", tmp_path)
    assert r["figures"]["self_ms_per_run[ours]"] > 0
    assert r["figures"]["self_ms_per_run[langgraph]"] > 0
    assert "app/" in out.split("ours, by self time")[1]  # names our hottest functions
    assert 0 < r["ratios"]["ours_share_of_busy_time"] < 1


def test_fanout_compares_concurrent_workers_with_one_at_a_time(tmp_path):
    _out, r = run_bench("bench_fanout", tmp_path)
    f = r["figures"]
    assert f["fanout_to_gate_ms"] > 0 and f["sequential_to_gate_ms"] > 0
    assert f["peak_model_calls_in_flight_sequential"] == 1
    assert f["peak_model_calls_in_flight_fanout"] > 1  # the workers really overlap
    expected = f["sequential_to_gate_ms"] / f["fanout_to_gate_ms"]
    assert r["ratios"]["fanout_speedup_vs_sequential"] == pytest.approx(expected, rel=0.02)


def test_cli_startup_times_light_commands_against_the_old_import_set(tmp_path):
    out, r = run_bench("bench_cli_startup", tmp_path)
    f = r["figures"]
    for name in ("empty_python", "old_import_set", "help", "list", "show"):
        assert f[f"{name}_wall_ms"] > 0 and f[f"{name}_cpu_ms"] > 0
    expected = f["old_import_set_wall_ms"] / f["list_wall_ms"]
    assert r["ratios"]["list_speedup_vs_old_import_set"] == pytest.approx(expected, rel=0.05)
    assert re.search(r"^target show_wall_ms: .*(met|NOT met)$", out, re.M)


def test_state_size_compares_by_reference_with_inline_state_revisions_and_an_edit(tmp_path):
    out, r = run_bench("bench_state_size", tmp_path)
    f = r["figures"]
    assert f["documents_json_bytes"] > 0
    # Stored by reference, the documents cost the database about their own size, once.
    assert f["inline_docs_run_bytes_inline_state"] > f["inline_docs_run_bytes_by_reference"]
    expected = f["inline_docs_run_bytes_by_reference"] / f["documents_json_bytes"]
    assert r["ratios"]["inline_docs_run_vs_documents_size"] == pytest.approx(expected, abs=0.01)
    # Revisions and a large edit on every backend measured (PostgreSQL when CI gives a URL).
    backends = ["sqlite"] + (["postgres"] if os.environ.get("HARNESS_TEST_POSTGRES_URL") else [])
    for b in backends:
        assert f[f"{b}_run_with_2_revisions_bytes"] > f[f"{b}_plain_run_bytes"] > 0
        target = rf"^ratio {b}_revised_run_vs_plain_run: .*\[target <= 2x: (met|NOT met)\]"
        assert re.search(target, out, re.M)
        growth = f[f"{b}_growth_from_gate_to_end_with_edit"] / f[f"{b}_edit_bytes"]
        assert r["ratios"][f"{b}_large_edit_growth_vs_edit_size"] == pytest.approx(growth, abs=0.01)
    # The content floor (what a run holds, nothing stored twice): below what SQLite stores,
    # and a revision adds to it.
    plain_floor = f["plain_run_content_floor_bytes"]
    assert f["sqlite_plain_run_bytes"] > plain_floor > 0
    assert f["run_with_2_revisions_content_floor_bytes"] > plain_floor


@pytest.mark.server
def test_server_runs_concurrent_threads_to_completion(tmp_path):
    reason = server_available()
    if reason is not None:
        if os.environ.get("HARNESS_REQUIRE_SERVER") == "1":
            pytest.fail(f"HARNESS_REQUIRE_SERVER=1 but {reason}")
        pytest.skip(reason)
    _out, r = run_bench("bench_server", tmp_path, "--threads", "3", timeout=300)
    assert r["figures"]["concurrent_runs_completed"] == 3
    assert r["figures"]["concurrent_p95_ms"] >= r["figures"]["concurrent_p50_ms"] > 0
    assert r["ratios"]["concurrent_vs_sequential_throughput"] > 0


def test_quality_scores_reports_on_the_python_documentation(tmp_path):
    from bench.bench_quality import DOCS

    assert (DOCS / "library").is_dir(), "apt-get install python3-doc (.ci/run does)"
    out, r = run_bench("bench_quality", tmp_path, timeout=600)
    f = r["figures"]
    for key in ("coverage", "precision", "recall"):
        assert 0 <= f[f"after_{'key_fact_' if key == 'coverage' else 'source_'}{key}_pct"] <= 100
    assert f["after_faithful_citations_pct"] == 100  # every cited sentence is in its section
    assert f["after_tracebacks"] == 0 and f["after_failed_runs"] == 0
    assert f["after_seconds_per_question"] > 0
    assert re.search(r"^target after_coverage: .*(met|NOT met)$", out, re.M)
    assert "q01-lru-cache:" in out and "q13-sqlite-transactions:" in out


def test_corpus_scale_measures_cold_warm_decisions_and_fanout_against_a_small_corpus(tmp_path):
    out, r = run_bench("bench_corpus_scale", tmp_path, timeout=300)
    f = r["figures"]
    for prefix in ("", "baseline_"):
        for key in ("cold_run_s", "warm_run_s", "approve_s", "reject_redraft_s", "resume_s",
                    "fanout_run_s"):
            assert f[prefix + key] > 0
        assert f[prefix + "warm_run_rss_mb"] > 0
        assert f[prefix + "index_updates_after_cold_run"] == 0  # warm runs opened, not rebuilt
    assert r["ratios"]["warm_run_vs_baseline"] == pytest.approx(
        f["warm_run_s"] / f["baseline_warm_run_s"], rel=0.02
    )
    for target in ("warm_run_wall_ms", "warm_run_rss_mb", "resume_own_ms", "cold_run_s"):
        assert re.search(rf"^target {target}: .*(met|NOT met)$", out, re.M)

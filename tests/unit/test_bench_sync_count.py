"""bench_durability counts a run's durable syncs from strace: each call once, however strace
splits it, and none of the corpus index's (their number varies from one index build to the
next, which once made a quick CI run count fewer syncs for 2 runs than for none)."""

from __future__ import annotations

from bench.bench_durability import run_syncs

LOG = """\
101 fsync(8</tmp/h/harness.sqlite-wal>) = 0
102 fdatasync(21</tmp/h/index/sample_corpus-ab/tantivy/1f.store> <unfinished ...>
101 fsync(9</tmp/h/reports/.partial-0a1b.md> <unfinished ...>
102 <... fdatasync resumed>) = 0
101 <... fsync resumed>) = 0
103 fdatasync(9</tmp/h/index/sample_corpus-ab/tantivy>) = 0
101 fdatasync(4</tmp/h/harness.sqlite>) = 0
"""


def test_each_sync_of_the_runs_own_files_counts_once():
    assert run_syncs(LOG) == 3  # the WAL, the report, the database; not the index's two


def test_a_log_without_syncs_counts_none():
    assert run_syncs("") == 0

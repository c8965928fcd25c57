"""A full disk under the SQLite store and the reports folder: each command that runs out of
space prints one `error:` line (no traceback), and once space is free again every registered
run finishes with `harness resume` (or approve) into exactly one report.

The disk is a real small file system: an 8 MB tmpfs mounted for the test (the test runs as
root in CI). Where mounting is not permitted, the same limit is imposed with RLIMIT_FSIZE on
the harness processes (writes past it fail with EFBIG), which exercises the same paths;
HARNESS_TEST_NO_MOUNT=1 forces that variant.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.errors import NotWaiting
from app.service.runs import Harness
from tests.conftest import HARNESS_BIN, REPO, TOPIC

pytestmark = pytest.mark.integration
FREE_BYTES = [200_000, 120_000, 80_000, 48_000, 32_000, 16_000, 8_000, 4_000, 0]


class SmallDisk:
    def __init__(self, root: Path, mounted: bool):
        self.root, self.mounted = root, mounted
        self.filler = root / "filler"
        self.limit: int | None = None

    def leave_free(self, free: int) -> None:
        if not self.mounted:
            db = self.root / "home" / "harness.sqlite"
            size = max((p.stat().st_size for p in db.parent.glob("harness.sqlite*")), default=0)
            self.limit = max(size, db.stat().st_size if db.exists() else 0) + free
            return
        self.filler.unlink(missing_ok=True)
        stats = os.statvfs(self.root)
        available = stats.f_bavail * stats.f_frsize
        with open(self.filler, "wb") as handle:
            try:
                handle.write(b"\0" * max(0, available - free))
            except OSError:
                pass

    def free_all(self) -> None:
        self.filler.unlink(missing_ok=True)
        self.limit = None

    def preexec(self):
        limit = self.limit
        if limit is None:
            return None

        def apply() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        return apply


@pytest.fixture
def disk(tmp_path) -> Iterator[SmallDisk]:
    root = tmp_path / "disk"
    root.mkdir()
    mounted = not os.environ.get("HARNESS_TEST_NO_MOUNT") and (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(root)], capture_output=True
        ).returncode
        == 0
    )
    try:
        yield SmallDisk(root, mounted)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(root)], check=False)


def _harness(disk: SmallDisk, env: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HARNESS_BIN), *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=disk.preexec(),
    )


def test_full_disk_gives_one_error_and_every_run_resumes(disk):
    env = {
        "HARNESS_HOME": str(disk.root / "home"),
        "HARNESS_OUTPUT_ROOT": str(disk.root / "out"),
        "HARNESS_RETRY_INTERVAL": "0",
    }
    assert _harness(disk, env, "run", TOPIC, "--yes").returncode == 0  # the store exists
    failures = []
    for i, free in enumerate(FREE_BYTES):
        disk.leave_free(free)
        done = _harness(disk, env, "run", f"{TOPIC} {i}", "--yes")
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode in (0, 2), (done.returncode, done.stderr)
        if done.returncode == 2:
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
            failures.append(lines[0])
    assert failures, "the disk never filled up: the test did not test anything"

    disk.free_all()
    with Harness.open(Settings.from_env(env)) as h:
        runs = h.list(100)
        for run in runs:
            for _ in range(4):
                status = h.get(run.run_id).status
                if status == "interrupted":
                    h.resume(run.run_id)
                elif status == "waiting_approval":
                    try:
                        h.resume(run.run_id)
                    except NotWaiting:
                        h.approve(run.run_id)
            finished = h.get(run.run_id)
            assert finished.status == "completed", (finished.status, finished.values.get("error"))
            assert Path(finished.report_path).read_text() == finished.values["draft"]
    reports = sorted(p.name for p in (disk.root / "out").iterdir())
    assert len(reports) == len(runs), reports  # one each, no `.partial-` leftovers

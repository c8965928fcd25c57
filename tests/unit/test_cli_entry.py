"""The console script's own Ctrl-C handling (app/cli/entry.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

SCRIPT = """
import sys
from app.cli.entry import _quiet_interrupts_in_finalizers
sys.unraisablehook = _quiet_interrupts_in_finalizers

class Finalizer:
    def __init__(self, exc):
        self.exc = exc
    def __del__(self):
        raise self.exc

Finalizer(KeyboardInterrupt())   # Ctrl-C landing in a finalizer
print("carried on")
Finalizer(ValueError("a real bug"))
"""


def test_ctrl_c_in_a_finalizer_prints_no_traceback_but_real_errors_still_show():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout == "carried on\n"
    assert "KeyboardInterrupt" not in done.stderr
    assert "ValueError: a real bug" in done.stderr  # other unraisable errors are reported

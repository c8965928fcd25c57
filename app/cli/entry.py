"""The `harness` console script. Ctrl-C while the program is still loading ends quietly with
exit 130 instead of a traceback from the import machinery; nothing has been started then."""

from __future__ import annotations

import sys


def _quiet_interrupts_in_finalizers(unraisable) -> None:
    # A Ctrl-C that lands while Python runs a finalizer or weakref callback cannot stop anything
    # there: Python reports it as "Exception ignored ... Traceback". The run carries on (or is
    # already saved and ending), so say nothing rather than print a traceback at the user.
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        return
    sys.__unraisablehook__(unraisable)


def main() -> None:
    sys.unraisablehook = _quiet_interrupts_in_finalizers
    try:
        from app.cli.main import main as run_cli
    except KeyboardInterrupt:
        sys.stderr.write("interrupted (nothing was started)\n")
        sys.exit(130)
    run_cli()

"""The `harness` console script. Ctrl-C while the program is still loading ends quietly with
exit 130 instead of a traceback from the import machinery; nothing has been started then."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from app.cli.main import main as run_cli
    except KeyboardInterrupt:
        sys.stderr.write("interrupted (nothing was started)\n")
        sys.exit(130)
    run_cli()

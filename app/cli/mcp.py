"""`harness mcp`: serve the harness as MCP tools over stdio (app/service/mcp_server.py).

Needs the `mcp` extra (`pip install -e '.[mcp]'`; `make install` includes it)."""

from __future__ import annotations

from app.cli.common import app, current_settings
from app.errors import InputError


@app.command("mcp")
def mcp_command() -> None:
    """Serve start_run, list_runs, show_run, pending and decide as MCP tools over stdio."""
    settings = current_settings()  # a bad setting is an error line before the server starts
    try:
        from app.service.mcp_server import serve_stdio
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("mcp", "mcp_types"):
            raise
        raise InputError("`harness mcp` needs the mcp extra: pip install -e '.[mcp]'") from None
    serve_stdio(settings)

"""`harness doctor`: the configuration in effect and, with a model configured, one small call to
its endpoint. Exit 0 when offline or the endpoint answered; 1 with a one-line reason otherwise."""

from __future__ import annotations

import re

import typer

from app.cli.common import JsonOut, app, current_settings, err, out, print_json, shown
from app.config import Settings
from app.safety.secrets import scrub

_URL_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@\s]+@")


def _safe(value: object) -> object:
    """Settings values as shown: passwords inside URLs and any secret value masked."""
    if isinstance(value, str):
        return scrub(_URL_PASSWORD.sub(r"\1:***@", value))
    return value


def doctor_report(settings: Settings, *, check: bool = True) -> dict[str, object]:
    from app.models.chat import check_endpoint, provider_name  # loads openai: only here

    config = {key: _safe(value) for key, value in settings.public().items()}
    report: dict[str, object] = {"settings": config}
    if not settings.uses_model:
        report.update(
            roles="offline",
            endpoint=None,
            ok=True,
            note="no model configured (set HARNESS_MODEL and/or HARNESS_BASE_URL)",
        )
        return report
    report["roles"] = provider_name(settings)
    endpoint = check_endpoint(settings) if check else None
    if endpoint is not None:
        endpoint = {key: _safe(value) for key, value in endpoint.items()}
        report["roles"] = endpoint.get("provider") or report["roles"]
    report.update(endpoint=endpoint, ok=bool(endpoint and endpoint["ok"]))
    return report


@app.command()
def doctor(json_out: JsonOut = False) -> None:
    """Show the configuration in effect and check the model endpoint with one small call."""
    report = doctor_report(current_settings())
    if json_out:
        print_json(report)
    else:
        out.print("[bold]Configuration[/]")
        for key, value in report["settings"].items():  # type: ignore[union-attr]
            out.print(f"  {key:<22} {shown(str(value))}")
        out.print(f"[bold]Roles[/]: {shown(str(report['roles']))}")
        endpoint = report["endpoint"]
        if endpoint is None:
            out.print(f"[bold]Endpoint[/]: none, {report['note']}")
        elif endpoint["ok"]:
            out.print(
                f"[bold]Endpoint[/]: OK, {shown(str(endpoint.get('model')))} answered "
                f"{shown(repr(endpoint.get('answer')))} in {endpoint['seconds']} s"
            )
    if not report["ok"]:
        endpoint = report["endpoint"] or {}
        err.print(
            f"[red]error:[/] model endpoint check failed ({shown(str(report['roles']))}): "
            f"{shown(str(endpoint.get('error')))}"
        )
        raise typer.Exit(1)

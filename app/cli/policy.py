"""`harness policy [ID]`: the effective policy. With a run id (or --latest), the policy stored
with that run when it started, which every later process enforces for it; without, the policy a
new run would get here (HARNESS_POLICY_FILE, or the default root)."""

from __future__ import annotations

from app.cli.common import JsonOut, Latest, RunId, app, current_settings, out, print_json, shown
from app.errors import InputError
from app.service.runs import Harness


@app.command("policy")
def policy_command(run_id: RunId = None, latest: Latest = False, json_out: JsonOut = False) -> None:
    """Print the effective policy: of a run (stored with it), or for new runs here."""
    if run_id and latest:
        raise InputError("give a run id or --latest, not both")
    with Harness.open(current_settings()) as h:
        data = h.policy_info("latest" if latest else run_id)
    if json_out:
        print_json(data)
        return
    if data["run_id"]:
        where = (
            "stored with the run"
            if data["stored_with_run"]
            else ("not stored (run from before policies were stored): this process's policy")
        )
        out.print(f"Run [bold]{data['run_id']}[/]: {where}")
    else:
        out.print("Policy for new runs in this process")
    out.print(f"source: {shown(data['source'])} (format: {data['format']})")
    out.print("allowed write roots:")
    for root in data["allowed_write_roots"]:
        out.print(f"  {shown(root)}")
    out.print("tools:")
    for name, tool in data["tools"].items():
        state = "enabled" if tool["enabled"] else "[red]disabled[/]"
        gate = ", risky, needs approval" if tool["requires_approval"] else ""
        out.print(f"  {name:<16} {state:<8} {tool['action_category']}{gate}")
    for note in data["notes"]:
        out.print(f"note: {shown(note)}")

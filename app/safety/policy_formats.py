"""Policy files in the original harness's format, translated to ours.

The original (67ailab/harness-engineering) wrote policies as

    {"version": 1,
     "default_allowed_write_roots": [".runs"],
     "tool_policies": {"finalize_report": {"enabled": true, "action_category": "filesystem_write",
                                            "allowed_output_roots": [".runs"]}, ...}}

Ours are `{"allowed_write_roots": [...], "disabled_tools": [...]}`. A rule we can honour is
translated; one we cannot (a category other than the step's own, approval switched off for the
report write, a tool name that exists in neither harness) is one clear error, never ignored:
a silently dropped restriction would be worse than a refused file.
"""

from __future__ import annotations

from typing import Any

from app.errors import InputError

ORIGINAL_KEYS = frozenset({"version", "default_allowed_write_roots", "tool_policies"})
# Our tool steps and their action categories (the graphs' node metadata; a unit test keeps the
# two in step).
STEP_CATEGORIES = {
    "plan": "model_generation",
    "search": "read_only",
    "extract_facts": "transform",
    "draft_report": "model_generation",
    "review": "transform",
    "finalize_report": "filesystem_write",
}
# The original's tool names -> ours. `flaky_echo` was the original's retry demo tool; it has
# no counterpart here, so a rule for it has nothing to act on.
ORIGINAL_TOOL_NAMES = {
    "search_mock": "search",
    "extract_facts": "extract_facts",
    "draft_report": "draft_report",
    "finalize_report": "finalize_report",
    "flaky_echo": None,
}
WRITE_STEP = "finalize_report"
RULE_KEYS = frozenset(
    {"enabled", "action_category", "allowed_output_roots", "requires_approval", "risky"}
)


def is_original_format(data: dict[str, Any]) -> bool:
    return bool(ORIGINAL_KEYS & set(data))


def _roots(value: Any, where: str, origin: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(r, str) and r.strip() for r in value):
        raise InputError(f"policy file {origin}: '{where}' must be a list of paths")
    if not value:
        raise InputError(
            f"policy file {origin}: '{where}' is empty, so the report could never be written"
        )
    return list(value)


def translate_original(data: dict[str, Any], origin: str) -> dict[str, Any]:
    """The original's policy as ours: {"allowed_write_roots"?, "disabled_tools", "notes"}."""
    mixed = {"allowed_write_roots", "disabled_tools"} & set(data)
    if mixed:
        raise InputError(
            f"policy file {origin} mixes the original format with {sorted(mixed)}; use one format"
        )
    unknown = set(data) - ORIGINAL_KEYS
    if unknown:
        raise InputError(f"policy file {origin}: unknown keys {sorted(unknown)}")
    if data.get("version", 1) != 1:
        raise InputError(f"policy file {origin}: only version 1 of the original format is known")
    roots = None
    if "default_allowed_write_roots" in data:
        roots = _roots(data["default_allowed_write_roots"], "default_allowed_write_roots", origin)
    rules = data.get("tool_policies", {})
    if not isinstance(rules, dict):
        raise InputError(f"policy file {origin}: 'tool_policies' must be an object")
    disabled: list[str] = []
    notes: list[str] = []
    for name, rule in rules.items():
        where = f"tool_policies.{name}"
        if name not in ORIGINAL_TOOL_NAMES and name not in STEP_CATEGORIES:
            known = sorted({*ORIGINAL_TOOL_NAMES, *STEP_CATEGORIES})
            raise InputError(f"policy file {origin}: {where}: no such tool (known: {known})")
        if not isinstance(rule, dict):
            raise InputError(f"policy file {origin}: {where} must be an object")
        bad = set(rule) - RULE_KEYS
        if bad:
            raise InputError(f"policy file {origin}: {where}: unknown keys {sorted(bad)}")
        step = ORIGINAL_TOOL_NAMES.get(name, name)
        if step is None:
            notes.append(f"{where}: the original's demo tool has no counterpart here; ignored")
            continue
        _check_rule(rule, step, where, origin)
        if rule.get("enabled", True) is False:
            disabled.append(step)
        if "allowed_output_roots" in rule:
            own = _roots(rule["allowed_output_roots"], f"{where}.allowed_output_roots", origin)
            if step != WRITE_STEP:
                raise InputError(
                    f"policy file {origin}: {where}.allowed_output_roots cannot be honoured: "
                    f"only {WRITE_STEP} writes files here"
                )
            roots = own  # the write step's own roots win over the defaults, as in the original
    translated: dict[str, Any] = {"disabled_tools": sorted(set(disabled)), "notes": notes}
    if roots is not None:
        translated["allowed_write_roots"] = roots
    return translated


def _check_rule(rule: dict[str, Any], step: str, where: str, origin: str) -> None:
    if not isinstance(rule.get("enabled", True), bool):
        raise InputError(f"policy file {origin}: {where}.enabled must be true or false")
    category = rule.get("action_category", STEP_CATEGORIES[step])
    if category != STEP_CATEGORIES[step]:
        raise InputError(
            f"policy file {origin}: {where}.action_category {category!r} cannot be honoured: "
            f"{step} is a {STEP_CATEGORIES[step]} step here"
        )
    gated = step == WRITE_STEP
    for key in ("requires_approval", "risky"):
        if key in rule and rule[key] is not gated:
            raise InputError(
                f"policy file {origin}: {where}.{key}={json_bool(rule[key])} cannot be honoured: "
                f"here only {WRITE_STEP} is risky and it always needs approval"
            )


def json_bool(value: Any) -> str:
    return "true" if value is True else "false" if value is False else repr(value)

"""What the harness may do: where reports may be written and which tools are switched off.

A policy file (JSON or TOML) may narrow it:
    {"allowed_write_roots": ["reports", "/srv/shared/reports"], "disabled_tools": ["search"]}
Relative roots are taken from the policy file's folder. The original harness's format
(`default_allowed_write_roots`, `tool_policies`) is translated (app/safety/policy_formats.py).

A run's policy is stored with the run when it starts (`to_record`) and rebuilt from there by
every later process (`from_record`), so an approval from a shell without the policy file
writes under the policy the run was planned with.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from app.config import Settings, read_user_file
from app.errors import InputError, PolicyViolation
from app.safety.policy_formats import is_original_format, translate_original

MAX_POLICY_BYTES = 1_000_000
KNOWN_TOOLS = frozenset(
    {"plan", "search", "extract_facts", "draft_report", "review", "finalize_report"}
)


@dataclass(frozen=True)
class Policy:
    allowed_write_roots: tuple[Path, ...]
    disabled_tools: frozenset[str] = field(default_factory=frozenset)
    # Where it came from and what translating it noted: shown, not compared.
    source: str | None = field(default=None, compare=False)
    file_format: str = field(default="harness", compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def load(cls, settings: Settings) -> Policy:
        if settings.policy_file is None:
            return cls((settings.reports_root,))
        return cls.from_file(settings.policy_file, default_root=settings.reports_root)

    @classmethod
    def from_file(cls, path: Path, *, default_root: Path | None = None) -> Policy:
        text = read_user_file(path, "policy file", MAX_POLICY_BYTES)
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"policy file {path} is not valid: {exc}") from None
        if not isinstance(data, dict):
            raise InputError(f"policy file {path} must hold an object with allowed_write_roots")
        file_format, notes = "harness", []
        if is_original_format(data):
            data = translate_original(data, str(path))
            file_format, notes = "original", data.pop("notes")
            if "allowed_write_roots" not in data:  # the original's default: the run store
                data["allowed_write_roots"] = [str(default_root or Path(".harness/reports"))]
        unknown = set(data) - {"allowed_write_roots", "disabled_tools"}
        if unknown:
            raise InputError(f"policy file {path}: unknown keys {sorted(unknown)}")
        roots = data.get("allowed_write_roots")
        tools = data.get("disabled_tools", [])
        if not isinstance(roots, list) or not roots or not all(isinstance(r, str) for r in roots):
            raise InputError(f"policy file {path}: 'allowed_write_roots' must be a list of paths")
        if (
            not isinstance(tools, list)
            or not all(isinstance(t, str) for t in tools)
            or not set(tools) <= KNOWN_TOOLS
        ):
            raise InputError(
                f"policy file {path}: 'disabled_tools' must list some of {sorted(KNOWN_TOOLS)}"
            )
        base = path.resolve().parent
        return cls(
            tuple((base / r).resolve() for r in roots),
            frozenset(tools),
            source=str(path.resolve()),
            file_format=file_format,
            notes=tuple(notes),
        )

    def to_record(self) -> dict[str, object]:
        """What is stored with a run: absolute roots, so any later process reads them the same."""
        return {
            "allowed_write_roots": [str(r) for r in self.allowed_write_roots],
            "disabled_tools": sorted(self.disabled_tools),
            "source": self.source,
            "format": self.file_format,
            "notes": list(self.notes),
        }

    @classmethod
    def from_record(cls, record: dict[str, object]) -> Policy:
        roots = record.get("allowed_write_roots")
        tools = record.get("disabled_tools") or []
        if not isinstance(roots, list) or not roots or not isinstance(tools, list):
            raise InputError("the policy stored with this run is malformed")
        return cls(
            tuple(Path(str(r)) for r in roots),
            frozenset(str(t) for t in tools),
            source=record.get("source") if isinstance(record.get("source"), str) else None,
            file_format=str(record.get("format") or "harness"),
            notes=tuple(str(n) for n in record.get("notes") or ()),
        )

    def check_tool(self, step: str) -> None:
        if step in self.disabled_tools:
            raise PolicyViolation(f"tool '{step}' is disabled by policy")

    def check_write(self, target: str | Path) -> Path:
        """Resolve `target` (following symlinks and '..') and refuse it outside every root."""
        path = Path(target).expanduser()
        if path.suffix.lower() != ".md":
            raise PolicyViolation(f"report path must end in .md: {path}")
        resolved = path.resolve()
        for root in self.allowed_write_roots:
            if resolved.is_relative_to(root.resolve()):
                return resolved
        roots = ", ".join(str(r) for r in self.allowed_write_roots)
        raise PolicyViolation(f"report path {resolved} is outside the allowed roots ({roots})")

    def root_of(self, resolved: Path) -> Path:
        """The allowed root a path from `check_write` lies in (the deepest, if nested)."""
        roots = [r.resolve() for r in self.allowed_write_roots]
        inside = [r for r in roots if resolved.is_relative_to(r)]
        if not inside:
            raise PolicyViolation(f"report path {resolved} is outside the allowed roots")
        return max(inside, key=lambda r: len(r.parts))

    def default_report_path(self, topic: str, run_id: str) -> Path:
        slug = re.sub(r"[^a-z0-9]+", "-", topic.lower()).strip("-")[:60] or "report"
        # Hash the whole id: server thread ids (UUIDv7) share their leading characters.
        tag = hashlib.sha256(run_id.encode()).hexdigest()[:10]
        return self.allowed_write_roots[0] / f"{slug}-{tag}.md"

"""app/state_base.py restates how HarnessState stores and combines its keys, for the readers
that must not import app/state.py (langchain-core). Here the restatement is held to the
state's own type hints, the way the snapshot reader derived them before."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import app.state
import app.state_base
from app.state import REDUCER_KEYS, WRITES_ONLY_KEYS, HarnessState, WritesOnly

HINTS = typing.get_type_hints(HarnessState, include_extras=True)


def _base_type(hint: typing.Any) -> typing.Any:
    return typing.get_origin(hint.__origin__) or hint.__origin__


def test_writes_only_keys_are_the_states():
    declared = {}
    for key, hint in HINTS.items():
        marker = WritesOnly.of(hint)
        if marker:
            declared[key] = (_base_type(hint), marker.reducer)
    restated = {key: (base, marker.reducer) for key, (base, marker) in WRITES_ONLY_KEYS.items()}
    assert restated == declared


def test_reducer_keys_are_the_states():
    declared = {}
    for key, hint in HINTS.items():
        if typing.get_origin(hint) is not typing.Annotated:
            continue
        base, marker = _base_type(hint), WritesOnly.of(hint)
        reducer = marker.reducer if marker else None
        if isinstance(base, type) and (
            reducer or (marker is None and any(callable(m) for m in hint.__metadata__))
        ):
            declared[key] = base
    assert declared == REDUCER_KEYS


def test_app_state_re_exports_the_light_module():
    tree = ast.parse(Path(app.state_base.__file__).read_text(encoding="utf-8"))
    own = [
        node.name
        if hasattr(node, "name")
        else node.targets[0].id
        if isinstance(node, ast.Assign)
        else node.target.id
        for node in tree.body
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.Assign | ast.AnnAssign)
    ]
    assert {"Status", "WritesOnly", "Decision", "TERMINAL_STATUSES", "json_default"} <= set(own)
    for name in own:
        assert name in app.state.__all__, name
        assert getattr(app.state, name) is getattr(app.state_base, name), name

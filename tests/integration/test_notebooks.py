"""The notebooks in notebooks/ run top to bottom with the project's interpreter; stored clean.

Each is executed with nbclient in a kernel started from this interpreter (a kernelspec written to
a temp JUPYTER_PATH, so no user-level kernel is used or installed), cwd notebooks/. A failing
cell fails the test with the cell's error. The notebooks assert what they show.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.integration, pytest.mark.notebook]

NOTEBOOKS = REPO / "notebooks"
NAMES = ["01_walkthrough.ipynb", "02_time_travel.ipynb"]
KERNEL = "harness-test"


@pytest.fixture
def kernel_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "harness (test)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    # Keep the kernel's runtime files (connection files) out of the user's home, too.
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    return KERNEL


def test_every_notebook_is_covered():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_without_outputs_or_local_paths(name: str):
    text = (NOTEBOOKS / name).read_text()
    nb = json.loads(text)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "a notebook with no code"
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    for local in (str(REPO), "/home/", "/tmp/", "/root/", "C:\\\\"):
        assert local not in text, f"{name} mentions {local}"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name: str, kernel_name: str, tmp_path: Path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        timeout=300,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError (with the cell and traceback) if a cell fails

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = "\n".join(
        o.get("text", "") + json.dumps(o.get("data", {})) for o in outputs
    )
    if name == "01_walkthrough.ipynb":
        assert "paused: waiting for a decision" in shown
        # The drawing: an SVG from Graphviz where `dot` is installed (CI), else text.
        drawing = "image/svg+xml" if shutil.which("dot") else "| approval |"
        assert drawing in shown
        assert "rejected_with_feedback" in shown  # labelled edges
    else:
        assert "already written: True" in shown
    # Nothing was written into the repo (the notebooks use a temp HARNESS_HOME).
    assert not (NOTEBOOKS / ".harness").exists()

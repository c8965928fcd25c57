"""The public import path of the Python API: `from app.runs import Harness`.
The code lives in app/service/runs.py."""

from app.service.runs import DURABILITY, MODES, Harness, RunView

__all__ = ["DURABILITY", "MODES", "Harness", "RunView"]

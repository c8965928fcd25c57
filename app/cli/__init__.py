"""The `harness` command (app/cli/main.py), one module per group of commands, and what they
share (app/cli/common.py)."""

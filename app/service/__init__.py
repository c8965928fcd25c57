"""The Python API (`Harness`), time travel and eval: what the CLI, notebooks and tests call."""

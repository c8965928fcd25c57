"""What each graph node does: steps, the approval gate, the tool-step guard (trace, retries,
failures), the fan-out worker, trace events, the workflow export, and the graphs' state channels."""

"""Graph wiring: one module per graph, each exporting `build_graph` and a module-level `graph`."""

"""Where runs are kept: the store factory, the SQLite and PostgreSQL backends (checkpointer plus
run registry). Backends never import the factory."""

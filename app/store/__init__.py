"""Where runs are kept: the store factory, the SQLite and PostgreSQL backends (checkpointer plus
run registry, blobs, claims, compressed serializer). Backends never import the factory."""

"""Research: ingestion of sources, planning, fact extraction, drafting, review and the report's
format. The offline roles live here; nothing here calls a model or knows about the graph."""

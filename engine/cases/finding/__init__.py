"""How staff find cases: the bandeja's query (``worklist``), search, and possible duplicates (``duplicates``)."""

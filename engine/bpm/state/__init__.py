"""A case's workflow as stored: its instance state without the spec (``serializer``), compressed with its
database's dictionaries (``codec``), and those dictionaries learnt and the states rewritten with them
(``compaction``)."""

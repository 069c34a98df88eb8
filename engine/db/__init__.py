"""The database: connections, the unit of work, tables, migrations and the hot path's statements."""

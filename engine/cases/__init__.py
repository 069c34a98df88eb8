"""Cases and their tasks: opening, assignment, notes, tickets, the bandeja, search, duplicates, files."""

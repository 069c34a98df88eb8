"""The audit trail: append-only events, their hash chain, and the log as auditors read it."""

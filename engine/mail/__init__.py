"""Outgoing e-mail: the outbox written in each step's transaction, its SMTP worker, the approved texts."""

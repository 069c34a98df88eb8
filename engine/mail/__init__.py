"""Outgoing e-mail: the outbox and the approved texts."""

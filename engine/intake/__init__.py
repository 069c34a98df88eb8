"""Cases coming in by every channel: the institutional mailbox, the public pages, Open311.

The engine's facade (``engine.facade.Atiende``) starts the cases; this package turns
what arrives (a MIME message, a public form, an API call) into a start form, keeps the
intake items an operator still has to look at, and answers the citizen at once.
"""

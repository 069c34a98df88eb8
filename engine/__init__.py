"""Atiende's BPM core: diagrams, cases, timers, audit. Knows nothing of the web."""

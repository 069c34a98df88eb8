"""Procedure versions: deploying, drafts, history, scenarios and moving cases between versions."""

"""Diagrams and their execution: the only package that imports SpiffWorkflow."""

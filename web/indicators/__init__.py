"""The office's figures as pages: the indicators and their drill-down and exports, the time per step
over each diagram, the citizens' survey comments, and the public transparency page."""

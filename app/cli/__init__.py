"""Command-line layer: argument parsing, the questions, one module per pipeline step.

Every question to the user lives here; algorithms below `app/` take plain arguments.
"""

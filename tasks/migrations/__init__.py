"""Alembic migrations of the taskbot schema (run by `taskbot init` and at start-up)."""

"""Whole-database snapshots: two equal snapshots mean nothing changed."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import SQLModel


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table, ordered."""
    with engine.connect() as connection:
        return {table.name: sorted(tuple(str(v) for v in row) for row in connection.execute(table.select()))
                for table in SQLModel.metadata.sorted_tables}

"""Whole-database snapshots: two equal snapshots mean nothing changed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, col, select

from tasks.models import NO_DEADLINE, Assignment, AssignmentStatus, DutyTally


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table, ordered; but the inbox, which keeps every update the bot received,
    refused ones too (a refusal changes nothing else)."""
    with engine.connect() as connection:
        return {table.name: sorted(tuple(str(v) for v in row) for row in connection.execute(table.select()))
                for table in SQLModel.metadata.sorted_tables if table.name != "inbox"}


def counted(session: Session) -> dict[tuple[int, str, date], int]:
    rows = session.exec(select(Assignment.unit_id, Assignment.status, Assignment.due_on, func.count())
                        .where(Assignment.status != AssignmentStatus.WITHDRAWN)
                        .group_by(col(Assignment.unit_id), col(Assignment.status), col(Assignment.due_on))).all()
    return {(unit, status, due or NO_DEADLINE): n for unit, status, due, n in rows}


def tallied(session: Session) -> dict[tuple[int, str, date], int]:
    return {(t.unit_id, t.status, t.due_on): t.n for t in session.exec(select(DutyTally)).all() if t.n}

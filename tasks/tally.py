"""The triggers that keep ``duty_tally`` equal to a count of the live assignments.

A trigger, not application code, because assignments change in many places (import, reports,
reviews, extensions, bulk loads) and the tally must never drift from what a count would say.
SQLite counts row by row; PostgreSQL once per statement (see below). Both add and subtract in
the writing transaction, so a rollback takes the tally back with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

# From this many rows a bulk insert is cheaper with the insert trigger off and one recount after.
BULK_ROWS = 1000

# SQL literal for tasks.models.NO_DEADLINE.
_NO_DEADLINE = "'9999-12-31'"

_SQLITE = [
    f"""
    CREATE TRIGGER IF NOT EXISTS duty_tally_insert AFTER INSERT ON assignment
    WHEN NEW.status != 'withdrawn'
    BEGIN
        INSERT INTO duty_tally (unit_id, status, due_on, n)
        VALUES (NEW.unit_id, NEW.status, COALESCE(NEW.due_on, {_NO_DEADLINE}), 1)
        ON CONFLICT (unit_id, status, due_on) DO UPDATE SET n = n + 1;
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS duty_tally_delete AFTER DELETE ON assignment
    WHEN OLD.status != 'withdrawn'
    BEGIN
        UPDATE duty_tally SET n = n - 1
        WHERE unit_id = OLD.unit_id AND status = OLD.status AND due_on = COALESCE(OLD.due_on, {_NO_DEADLINE});
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS duty_tally_update AFTER UPDATE OF unit_id, status, due_on ON assignment
    WHEN OLD.unit_id IS NOT NEW.unit_id OR OLD.status IS NOT NEW.status OR OLD.due_on IS NOT NEW.due_on
    BEGIN
        UPDATE duty_tally SET n = n - 1
        WHERE OLD.status != 'withdrawn' AND unit_id = OLD.unit_id AND status = OLD.status
          AND due_on = COALESCE(OLD.due_on, {_NO_DEADLINE});
        INSERT INTO duty_tally (unit_id, status, due_on, n)
        SELECT NEW.unit_id, NEW.status, COALESCE(NEW.due_on, {_NO_DEADLINE}), 1 WHERE NEW.status != 'withdrawn'
        ON CONFLICT (unit_id, status, due_on) DO UPDATE SET n = n + 1;
    END
    """,
]

# PostgreSQL: inserts and deletes are counted per statement over the transition tables, so that
# a bulk insert of a million assignments adds up its rows once, not once per row.
_PG_NO_DEADLINE = f"DATE {_NO_DEADLINE}"
_PG_ADD = f"""
    INSERT INTO duty_tally (unit_id, status, due_on, n)
    SELECT unit_id, status, COALESCE(due_on, {_PG_NO_DEADLINE}), count(*) FROM {{rows}}
    WHERE status <> 'withdrawn' GROUP BY 1, 2, 3
    ON CONFLICT (unit_id, status, due_on) DO UPDATE SET n = duty_tally.n + EXCLUDED.n;
"""
_PG_SUBTRACT = f"""
    UPDATE duty_tally SET n = duty_tally.n - gone.n
    FROM (SELECT unit_id, status, COALESCE(due_on, {_PG_NO_DEADLINE}) AS due_on, count(*) AS n FROM {{rows}}
          WHERE status <> 'withdrawn' GROUP BY 1, 2, 3) AS gone
    WHERE duty_tally.unit_id = gone.unit_id AND duty_tally.status = gone.status AND duty_tally.due_on = gone.due_on;
"""
# An UPDATE is counted row by row, and only when unit, status or deadline changed: the WHEN is
# checked without calling the function, so the planner's constant next_check_at updates cost nothing.
_PG_MOVED = f"""
    IF OLD.status <> 'withdrawn' THEN
        UPDATE duty_tally SET n = n - 1
        WHERE unit_id = OLD.unit_id AND status = OLD.status AND due_on = COALESCE(OLD.due_on, {_PG_NO_DEADLINE});
    END IF;
    IF NEW.status <> 'withdrawn' THEN
        INSERT INTO duty_tally (unit_id, status, due_on, n)
        VALUES (NEW.unit_id, NEW.status, COALESCE(NEW.due_on, {_PG_NO_DEADLINE}), 1)
        ON CONFLICT (unit_id, status, due_on) DO UPDATE SET n = duty_tally.n + 1;
    END IF;
"""


def _pg_function(name: str, body: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {body}
        RETURN NULL;
    END
    $$
    """


_POSTGRES = [
    # PostgreSQL 15 has no CREATE TRIGGER IF NOT EXISTS: make them again from scratch.
    *(f"DROP TRIGGER IF EXISTS {name} ON assignment"
      for name in ("duty_tally_insert", "duty_tally_delete", "duty_tally_update")),
    _pg_function("duty_tally_inserted", _PG_ADD.format(rows="new_rows")),
    _pg_function("duty_tally_deleted", _PG_SUBTRACT.format(rows="old_rows")),
    _pg_function("duty_tally_updated", _PG_MOVED),
    """CREATE TRIGGER duty_tally_insert AFTER INSERT ON assignment REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION duty_tally_inserted()""",
    """CREATE TRIGGER duty_tally_delete AFTER DELETE ON assignment REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION duty_tally_deleted()""",
    """CREATE TRIGGER duty_tally_update AFTER UPDATE OF unit_id, status, due_on ON assignment FOR EACH ROW
       WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id OR OLD.status IS DISTINCT FROM NEW.status
             OR OLD.due_on IS DISTINCT FROM NEW.due_on)
       EXECUTE FUNCTION duty_tally_updated()""",
]


def install_triggers(connection: Connection) -> None:
    for statement in _POSTGRES if connection.dialect.name == "postgresql" else _SQLITE:
        connection.execute(text(statement))


def recount(connection: Connection) -> None:
    """Rebuild the tally from the assignments (after a migration; the triggers keep it from then on)."""
    no_deadline = ("DATE " if connection.dialect.name == "postgresql" else "") + _NO_DEADLINE
    connection.execute(text("DELETE FROM duty_tally"))
    connection.execute(text(f"""
        INSERT INTO duty_tally (unit_id, status, due_on, n)
        SELECT unit_id, status, COALESCE(due_on, {no_deadline}), count(*)
        FROM assignment WHERE status != 'withdrawn'
        GROUP BY unit_id, status, COALESCE(due_on, {no_deadline})
    """))


@contextmanager
def bulk_insert(connection: Connection, rows: int) -> Iterator[None]:
    """Around a bulk insert of ``rows`` assignments in the current transaction.

    On SQLite, for a big one, the row-by-row insert trigger is dropped and the tally recounted
    once at the end: tens of thousands of row triggers cost more than one GROUP BY. Both happen
    inside the transaction, so a failure rolls them back with everything else.
    """
    if rows < BULK_ROWS or connection.dialect.name == "postgresql":  # PostgreSQL counts per statement already
        yield
        return
    connection.execute(text("DROP TRIGGER duty_tally_insert"))  # SQLite DDL is transactional
    yield
    recount(connection)
    install_triggers(connection)  # IF NOT EXISTS: only the dropped one is made again

"""The triggers that keep ``duty_tally`` equal to a count of the live assignments.

A trigger, not application code, because assignments change in many places (import, reports,
reviews, extensions, bulk loads) and the tally must never drift from what a count would say.
SQLite and PostgreSQL differ in trigger syntax only; both add and subtract in the writing
transaction, so a rollback takes the tally back with it.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

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

_POSTGRES = [
    f"""
    CREATE OR REPLACE FUNCTION duty_tally_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status <> 'withdrawn' THEN
            UPDATE duty_tally SET n = n - 1
            WHERE unit_id = OLD.unit_id AND status = OLD.status
              AND due_on = COALESCE(OLD.due_on, DATE {_NO_DEADLINE});
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status <> 'withdrawn' THEN
            INSERT INTO duty_tally (unit_id, status, due_on, n)
            VALUES (NEW.unit_id, NEW.status, COALESCE(NEW.due_on, DATE {_NO_DEADLINE}), 1)
            ON CONFLICT (unit_id, status, due_on) DO UPDATE SET n = duty_tally.n + 1;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS duty_tally_insert_delete ON assignment",
    """
    CREATE TRIGGER duty_tally_insert_delete AFTER INSERT OR DELETE ON assignment
    FOR EACH ROW EXECUTE FUNCTION duty_tally_apply()
    """,
    "DROP TRIGGER IF EXISTS duty_tally_update ON assignment",
    """
    CREATE TRIGGER duty_tally_update AFTER UPDATE OF unit_id, status, due_on ON assignment
    FOR EACH ROW WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id OR OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.due_on IS DISTINCT FROM NEW.due_on)
    EXECUTE FUNCTION duty_tally_apply()
    """,
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

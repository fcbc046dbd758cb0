"""Test databases: where they live, and states built once then restored as copies.

Building a database's starting state (the schema, the seed directory's units, the seed plan) takes
longer than most tests that use it. Each state is built the normal way the first time this process
needs it, saved, and restored for every later test: the same rows, ids and sequence positions,
as a byte-for-byte copy on SQLite (the backup API) and a binary COPY of every table on PostgreSQL.

Each process (one per pytest-xdist worker) has its own PostgreSQL database and saved states, so
workers never share one.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from tasks.db import create_schema, libpq_url, make_engine

POSTGRES_URL = os.environ.get("TASKBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = [b.strip() for b in os.environ.get("TASKBOT_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]


def backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


# --- PostgreSQL: a database of the worker's own --------------------------------------------------------

def admin_connection() -> psycopg.Connection:
    return psycopg.connect(libpq_url(POSTGRES_URL), autocommit=True, connect_timeout=5)


def create_postgres_database() -> str:
    """A new database on the test server, at the current schema; its URL. Named uniquely, so that
    test sessions and xdist workers running at once never meet."""
    name = f"taskbot_test_{uuid.uuid4().hex[:10]}"
    with admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(libpq_url(POSTGRES_URL)).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    create_schema(engine)
    engine.dispose()
    return url


def drop_postgres_database(url: str) -> None:
    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


# --- saved states --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PostgresCopy:
    tables: dict[str, bytes]  # COPY … (FORMAT BINARY) of each table
    sequences: list[tuple[str, int | None]]  # each sequence and its last value (None: never used)
    version: str  # the alembic revision the copy was taken at: restored only onto that schema


_SAVED_FOLDER = tempfile.TemporaryDirectory(prefix="taskbot-test-states-")
_saved: dict[tuple[str, Hashable], Path | PostgresCopy] = {}


def bring_to(engine: Engine, state: Hashable, build: Callable[[Engine], object]) -> None:
    """Bring the new database behind ``engine`` to what ``build(engine)`` makes of a new database:
    by building it the first time this process asks for ``state``, by restoring a copy of that
    after. ``state`` must name everything the build depends on (its clock's moment, its inputs).
    A database that already holds rows is built on as it is, and not saved."""
    url = engine.url.render_as_string(hide_password=False)
    if not _is_new(url):
        build(engine)
        return
    key = (backend(url), state)
    saved = _saved.get(key)
    if saved is None:
        build(engine)
        _saved[key] = _save(engine, url)
    else:
        engine.dispose()  # restoring replaces what any pooled connection would have seen
        _restore(saved, url)


def empty_postgres(url: str) -> None:
    """The worker's PostgreSQL database as create_schema leaves a new one: the current schema, no
    rows, every sequence at its start. A test that took the schema apart (the migration tests)
    gets it back whole."""
    key = ("postgresql", "empty")
    saved = _saved.get(key)
    if saved is None:
        engine = make_engine(url)
        _reset_schema(url)
        create_schema(engine)
        _saved[key] = saved = _save(engine, url)
        engine.dispose()
        return
    _restore(saved, url)


def _is_new(url: str) -> bool:
    """No rows in any table but the schema's version, and no sequence used: what a build would find
    in a new database (the schema itself may be there or not)."""
    if backend(url) == "sqlite":
        path = Path(make_url(url).database or "")
        if not path.exists():
            return True
        with sqlite3.connect(path) as connection:
            tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                      if name != "alembic_version"]
            holding = [name for name in tables if connection.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone()]
        connection.close()
        return not holding
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        tables = _tables(connection.cursor())
        used = connection.execute("SELECT count(*) FROM pg_sequences WHERE last_value IS NOT NULL").fetchone()
        holding = connection.execute("SELECT " + " OR ".join(f'EXISTS (SELECT 1 FROM "{name}")' for name in tables)
                                     ).fetchone() if tables else (False,)
    return used == (0,) and holding == (False,)


def _save(engine: Engine, url: str) -> Path | PostgresCopy:
    if backend(url) == "sqlite":
        path = Path(_SAVED_FOLDER.name) / f"{uuid.uuid4().hex}.db"
        with engine.connect() as connection, sqlite3.connect(path) as copy:
            connection.connection.driver_connection.backup(copy)  # type: ignore[union-attr]
        copy.close()
        return path
    engine.dispose()  # every write of the build is committed and no connection holds a lock
    with psycopg.connect(libpq_url(url)) as connection, connection.cursor() as cursor:
        tables = {}
        for table in SQLModel.metadata.sorted_tables:
            data = bytearray()
            with cursor.copy(f"COPY {_columns(table.name)} TO STDOUT (FORMAT BINARY)") as copy:
                for chunk in copy:
                    data += chunk
            tables[table.name] = bytes(data)
        sequences = cursor.execute("SELECT format('%I.%I', schemaname, sequencename), last_value "
                                   "FROM pg_sequences").fetchall()
        version = _schema_version(cursor)
    assert version is not None
    return PostgresCopy(tables, sequences, version)


def _restore(saved: Path | PostgresCopy, url: str) -> None:
    if isinstance(saved, Path):
        target = Path(make_url(url).database or "")
        for leftover in (target, target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
            leftover.unlink(missing_ok=True)
        with sqlite3.connect(saved) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        source.close()
        copy.close()
        return
    with psycopg.connect(libpq_url(url)) as connection, connection.cursor() as cursor:
        if _schema_version(cursor) != saved.version or _tables(cursor) != set(saved.tables):
            connection.rollback()
            _reset_schema(url)
            engine = make_engine(url)
            create_schema(engine)
            engine.dispose()
        # Triggers off while rows go in: the copy holds the tallies the triggers made the first time.
        cursor.execute("SET LOCAL session_replication_role = replica")
        # TRUNCATE, not DELETE: deleted rows stay in the tables as dead tuples until a vacuum, and
        # hundreds of tests' worth made every later query on this database scan them.
        cursor.execute("TRUNCATE " + ", ".join(f'"{name}"' for name in saved.tables))
        for name, data in saved.tables.items():
            if data:
                with cursor.copy(f"COPY {_columns(name)} FROM STDIN (FORMAT BINARY)") as copy:
                    copy.write(data)
        if saved.sequences:
            cursor.execute("SELECT setval(s.name::regclass, coalesce(s.last, 1), s.last IS NOT NULL) FROM (VALUES "
                           + ", ".join(["(%s, %s::bigint)"] * len(saved.sequences)) + ") AS s(name, last)",
                           [value for pair in saved.sequences for value in pair])


def _columns(table: str) -> str:
    """``"table" ("column", …)`` in the models' order: a binary COPY carries no column names, and a
    migrated table keeps its columns in the order they were added, not the models' order."""
    columns = ", ".join(f'"{column.name}"' for column in SQLModel.metadata.tables[table].columns)
    return f'"{table}" ({columns})'


def _schema_version(cursor: psycopg.Cursor) -> str | None:
    if cursor.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone() != (True,):
        return None
    row = cursor.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def _tables(cursor: psycopg.Cursor) -> set[str]:
    found = {name for (name,) in cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    return found - {"alembic_version"}


def _reset_schema(url: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")

"""Engines and sessions. SQLite (a file, WAL) by default; PostgreSQL by URL."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event, exc, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlmodel import Session, SQLModel, create_engine

from tasks import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from tasks.events import dumps
from tasks.tally import install_triggers

SQLITE_BUSY_TIMEOUT_MS = 5000
# A PostgreSQL connection that sat in the pool this long is pinged before use (see _ping_when_idle).
PING_AFTER_IDLE_SECONDS = 5.0


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # The driver must not open transactions itself: _begin_immediate does, so that every
    # transaction takes the write lock up front (see make_engine).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the bot read while a writer works; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def normalise_url(url: str) -> str:
    """Plain postgresql:// URLs use psycopg 3, the driver we install."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def libpq_url(url: str) -> str:
    """A PostgreSQL URL as libpq takes it (pg_dump, psycopg.connect): no SQLAlchemy driver name."""
    return make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


class DatabaseUrlError(ValueError):
    """The database URL cannot be read, or names a database kind taskbot has no driver for."""


# PostgreSQL's wire protocol counts a statement's parameters in 16 bits.
POSTGRES_MAX_PARAMETERS = 65_535


def parameter_limit(connection: Connection) -> int:
    """The most bind parameters one statement may carry on ``connection``. SQLite's is its build's:
    999 before 3.32 (still the system SQLite of some long-lived distributions), 32,766 since, more
    where a distribution raised it; the connection says which."""
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        return driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[union-attr]
    return POSTGRES_MAX_PARAMETERS


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    try:
        return _engine_for(url)
    except exc.ArgumentError as error:  # raised here only by the URL: later it would mean a bug in a query
        raise DatabaseUrlError(str(error)) from error


def _engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, json_serializer=dumps)
        event.listen(engine, "connect", _configure_sqlite)
        # In WAL mode a transaction that reads and then writes fails at once ("database is locked",
        # which busy_timeout does not retry) when another connection committed in between. BEGIN
        # IMMEDIATE takes the write lock at the start instead, so writers — the bot's handlers, the
        # planner, the sender, other workers — wait their turn (busy_timeout) and claims stay exclusive.
        event.listen(engine, "begin", _begin_immediate)
        return engine
    engine = create_engine(url, json_serializer=dumps)
    event.listen(engine, "checkin", _note_idle_since)
    event.listen(engine, "checkout", _ping_when_idle(engine))
    return engine


def _note_idle_since(_dbapi_connection: object, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_when_idle(engine: Engine) -> Callable[[Any, ConnectionPoolEntry, PoolProxiedConnection], None]:
    """A connection that waited in the pool is pinged before it is handed out, and replaced when
    the server has gone away (restarted, or closed it): the next transaction then runs, where it
    would have failed once. SQLAlchemy's pool_pre_ping does this on every checkout, a round trip
    per transaction (4% of the year simulation's time on PostgreSQL); a connection used a moment ago
    is alive, and if the server went away within that moment, the transaction fails and the
    pool starts afresh, as it would without a ping."""
    dialect = engine.dialect

    def ping(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.DisconnectionError() from error  # the pool drops it and connects again
            raise

    return ping


MIGRATIONS = Path(__file__).with_name("migrations")
IMPORTER_ERA = "0001"  # the schema before members, invites, the outbox and planning existed


def migration_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


# The bot and every worker migrate the database when they start, often at the same moment
# (systemd starts them together). One migrates; the others wait, then find it done.
# PostgreSQL: a transaction-level advisory lock under this key (the ASCII of "taskbot"), let go
# when the migration commits or rolls back. SQLite: the write lock, which every transaction here
# takes at BEGIN (see make_engine; in WAL mode BEGIN EXCLUSIVE would take the same lock), held
# for as long as a migration may take rather than the usual busy timeout.
MIGRATION_LOCK_KEY = 0x7461736B626F74
MIGRATION_WAIT_MS = 10 * 60 * 1000


def create_schema(engine: Engine) -> None:
    """Bring the database to the current schema: create an empty one, migrate an older one.
    Safe to call from several processes at once: they take turns, and only the first changes anything."""
    with engine.connect() as connection, migrating(connection), connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        _migrate(connection)


def take_migration_lock(session: Session) -> None:
    """Hold the migration lock to the end of ``session``'s transaction, so what a start does after
    migrating (adding the seed directory's units) is done by one starter at a time too. SQLite
    needs nothing: every transaction there begins IMMEDIATE and so already takes its turn."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


@contextmanager
def migrating(connection: Connection) -> Iterator[None]:
    """Around a migration's transaction on ``connection``: on SQLite, wait for another starter's
    migration rather than give up, and let a table be copied into a new shape."""
    if connection.dialect.name != "sqlite":
        yield
        return
    # Set on the driver's connection, outside any transaction: BEGIN itself is what waits.
    # Foreign keys are off while migrating, as SQLite's own procedure for changing a table has it:
    # a migration copies a table into its new shape, and dropping the old copy of a table others
    # refer to (member) would otherwise fail. _migrate checks every reference before it commits.
    sqlite_connection = connection.connection.driver_connection
    sqlite_connection.execute(f"PRAGMA busy_timeout={MIGRATION_WAIT_MS}")
    sqlite_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        sqlite_connection.execute("PRAGMA foreign_keys=ON")
        sqlite_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _migrate(connection: Connection) -> None:
    config = migration_config(connection)
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables:
        if "plan" not in tables:
            # A new database: create the current schema at once and record it as current.
            SQLModel.metadata.create_all(connection)
            install_triggers(connection)
            command.stamp(config, "head")
            return
        # Made before migrations existed: recognise which schema it has.
        command.stamp(config, "head" if "outbox" in tables else IMPORTER_ERA)
    command.upgrade(config, "head")
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"a migration left rows referring to rows that are gone: {broken[:5]}")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed whole, or rolled back whole on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

"""Migrations: an importer-era database with data in it is brought to today's schema, data intact."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, SQLModel, select

import tasks.db
from seed import MENTOUGOU_2021, UNIT_DIRECTORY, seed_path
from tasks.clock import FixedClock
from tasks.db import MIGRATIONS, create_schema, make_engine, migration_config
from tasks.events import Actor
from tasks.models import Assignment, Event, Report, Unit
from tasks.plan.importer import import_file, prepare_database
from tasks.plan.units import UnitDirectory
from tests.dbstate import counted, tallied


def newest_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


OLD_ROWS = [
    "INSERT INTO plan (id, year, title, source, source_sha256, imported_at) "
    "VALUES (1, 2021, '2021年门头沟区支援合作工作要点', 'seed', '', :at)",
    "INSERT INTO unit (id, name, kind, needs_review, created_at) VALUES (1, '区商务局', 'department', false, :at)",
    "INSERT INTO unitalias (alias, unit_id) VALUES ('区商务局', 1)",
    "INSERT INTO task (id, plan_id, ref, kind, number, position, category, text, deadline, deadline_text, status, "
    "created_at, updated_at) VALUES (1, 1, 'project:内蒙古武川县:武川县消费扶贫展销服务中心运营项目', 'project', '5', 0, "
    "'消费帮扶类', '武川县消费扶贫展销服务中心运营项目', '2021-10-31', '2021年6-2021年10月', 'active', :at, :at)",
    "INSERT INTO assignment (id, task_id, unit_id, role, position, status, due_on, created_at, updated_at) "
    "VALUES (1, 1, 1, 'lead', 0, 'open', '2021-10-31', :at, :at)",
    "INSERT INTO report (id, assignment_id, kind, text, percent, evidence, author, created_at) "
    "VALUES (1, 1, 'progress', '场地已签约', 60, '[]', '王科长', :at)",
    "INSERT INTO event (id, at, actor, source, action, entity, entity_id, detail) "
    "VALUES (1, :at, 'admin', 'import', 'task.created', 'task', 1, '{}')",
]


def empty_engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        SQLModel.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    return engine


def importer_era_database(engine: Engine) -> None:
    with engine.begin() as connection:
        command.upgrade(migration_config(connection), "0001")
        for statement in OLD_ROWS:
            connection.execute(text(statement), {"at": datetime(2021, 6, 18, 1, tzinfo=UTC)})
        if connection.dialect.name == "postgresql":  # ids written by hand: move the sequences on, as use would have
            for table in ("plan", "unit", "task", "assignment", "report", "event"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                        f"(SELECT max(id) FROM \"{table}\"))"))


def test_an_importer_era_database_is_migrated_with_its_data(database_url: str) -> None:
    engine = empty_engine(database_url)
    importer_era_database(engine)
    assert "outbox" not in inspect(engine).get_table_names()
    directory = UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY))
    prepare_database(engine, directory, FixedClock(datetime(2021, 7, 1, tzinfo=UTC)), Actor("admin", "cli"))
    assert {"member", "invite", "extension", "outbox"} <= set(inspect(engine).get_table_names())
    with Session(engine) as session:
        report = session.get(Report, 1)
        assert (report.text, report.percent, report.review_note, report.review_status) == ("场地已签约", 60, "", None)
        assert session.get(Assignment, 1).planned_until is None
    # Today's code works on it: the seed imports over it, in place, keeping the old report.
    _parsed, summary = import_file(engine, seed_path(MENTOUGOU_2021), FixedClock(datetime(2021, 7, 1, tzinfo=UTC)),
                                   Actor("admin", "cli"), district="门头沟区")
    assert summary.created == 76  # the one project was there already
    with Session(engine) as session:
        assert session.exec(select(Report)).one().text == "场地已签约"
        assert tallied(session) == counted(session)  # the tally began with the old rows and followed the import
    engine.dispose()


def test_migrated_schema_is_the_schema_the_models_describe(database_url: str) -> None:
    engine = empty_engine(database_url)
    importer_era_database(engine)
    create_schema(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []
    engine.dispose()


def test_an_unversioned_importer_era_database_is_recognised(database_url: str) -> None:
    engine = empty_engine(database_url)
    importer_era_database(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))  # made by create_all before migrations existed
    create_schema(engine)
    assert "outbox" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == newest_revision()
    engine.dispose()


def test_a_new_database_is_created_at_the_current_revision(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    create_schema(engine)
    create_schema(engine)  # again: nothing to do
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == newest_revision()
    engine.dispose()


def _migrate_when_all_are_ready(database_url: str, everyone_ready: Barrier) -> None:
    """What `taskbot run` and `taskbot worker` do first: migrate, then add the directory's units."""
    engine = make_engine(database_url)
    everyone_ready.wait()
    prepare_database(engine, UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY)),
                     FixedClock(datetime(2021, 6, 18, tzinfo=UTC)), Actor("admin", "cli"))
    engine.dispose()


def _start_together(database_url: str, processes: int) -> list[int | None]:
    """The bot and its workers, started at the same moment on one database: each migrates it."""
    context = multiprocessing.get_context("fork")
    everyone_ready = context.Barrier(processes)
    starters = [context.Process(target=_migrate_when_all_are_ready, args=(database_url, everyone_ready))
                for _ in range(processes)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(timeout=120)
    return [starter.exitcode for starter in starters]


def _versions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_a_bot_and_workers_starting_together_create_the_schema_once(database_url: str) -> None:
    empty_engine(database_url).dispose()
    assert _start_together(database_url, processes=4) == [0, 0, 0, 0]
    engine = make_engine(database_url)
    assert _versions(engine) == [newest_revision()]
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    directory = UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY))
    with Session(engine) as session:  # each unit added once, by whichever starter came first
        assert sorted(session.exec(select(Unit.name)).all()) == sorted(directory.kinds)
        created = session.exec(select(Event.entity_id).where(Event.action == "unit.created")).all()
        assert sorted(created) == sorted(session.exec(select(Unit.id)).all())
    engine.dispose()


def test_a_bot_and_workers_starting_together_migrate_an_old_database_once(database_url: str) -> None:
    engine = empty_engine(database_url)
    importer_era_database(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))  # unversioned: every starter stamps it first
    assert _start_together(database_url, processes=4) == [0, 0, 0, 0]
    assert _versions(engine) == [newest_revision()]
    with Session(engine) as session:
        assert session.exec(select(Report)).one().text == "场地已签约"
    engine.dispose()


def test_on_sqlite_a_starter_waits_for_a_migration_longer_than_the_busy_timeout(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tasks.db, "SQLITE_BUSY_TIMEOUT_MS", 50)  # what handlers wait; a migration takes longer
    path = tmp_path / "taskbot.db"
    migrating = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    migrating.execute("PRAGMA journal_mode=WAL")  # as every taskbot database is
    migrating.execute("BEGIN IMMEDIATE")
    migrating.execute("CREATE TABLE being_migrated (id INTEGER)")
    finished = threading.Timer(0.5, migrating.execute, args=("COMMIT",))
    finished.start()
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)  # waits for the other starter instead of failing with "database is locked"
    finished.join()
    migrating.close()
    assert _versions(engine) == [newest_revision()]
    with engine.connect() as connection:  # and the connection goes back to handlers with their own timeout
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 50
    engine.dispose()

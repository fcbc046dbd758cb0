"""Migrations: an importer-era database with data in it is brought to today's schema, data intact."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

import tasks.db
from seed import MENTOUGOU_2021, UNIT_DIRECTORY, seed_path
from tasks import outbox
from tasks.clock import FixedClock
from tasks.db import MIGRATIONS, create_schema, make_engine, migration_config
from tasks.events import Actor
from tasks.models import Assignment, Event, Member, Report, Role, Unit
from tasks.plan.importer import import_file, prepare_database
from tasks.plan.units import UnitDirectory
from tasks.work.members import find_member
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


# A database from before the channels (0014): Telegram's numbers in member, outbox and send_mark,
# with rows that refer to members (an invite used, a report's author, a desk session).
BEFORE_CHANNELS = [
    "INSERT INTO member (id, user_id, chat_id, name, role, unit_id, active, reachable, pending, created_at) VALUES "
    "(1, 9007199254740993, 9007199254740993, '王科长', 'member', 1, true, true, '{}', :at), "
    "(2, NULL, -1001234567890, '区商务局工作群', 'member', 1, true, true, '{}', :at), "
    "(3, 42, 42, '督办办公室', 'office', NULL, true, false, '{\"action\": \"reason\"}', :at), "
    "(4, 43, 43, '已解绑', 'leader', NULL, false, true, '{}', :at)",
    "INSERT INTO invite (code, role, unit_id, created_by, created_at, expires_at, used_at, used_by_member_id) "
    "VALUES ('abc', 'member', 1, 'admin', :at, :at, :at, 1)",
    "UPDATE report SET author_member_id = 1 WHERE id = 1",
    "INSERT INTO websession (token_hash, member_id, csrf, created_at, expires_at) VALUES ('h', 3, 'c', :at, :at)",
    "INSERT INTO outbox (id, chat_id, member_id, kind, payload, dedupe_key, status, attempts, next_attempt_at, "
    "lease_until, last_error, created_at, sent_at) VALUES "
    "(1, 9007199254740993, 1, 'urge', '{}', 'urge:1:9007199254740993', 'pending', 0, :at, NULL, '', :at, NULL), "
    "(2, -1001234567890, 2, 'urge', '{}', 'urge:1:-1001234567890', 'sent', 1, :at, NULL, '', :at, :at), "
    "(3, 42, 3, 'digest', '{}', 'digest:2021W27:42', 'dead', 3, :at, NULL, 'Forbidden', :at, NULL)",
    "INSERT INTO send_mark (id, chat_id, at) VALUES (1, -1001234567890, 1625100000.5), (2, 42, 1625100001.25)",
    "INSERT INTO inbox (id, update_id, payload, status, attempts, error, received_at) "
    "VALUES (1, 700001, '{\"update_id\": 700001}', 'pending', 0, '', :at)",
]


def _rows(engine: Engine, query: str) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query)).all()]


def test_a_database_from_before_the_channels_keeps_every_member_notification_and_send_mark(
        database_url: str) -> None:
    engine = empty_engine(database_url)
    importer_era_database(engine)
    with engine.begin() as connection:
        command.upgrade(migration_config(connection), "0014")
        for statement in BEFORE_CHANNELS:
            connection.execute(text(statement), {"at": datetime(2021, 7, 1, 1, tzinfo=UTC)})
    create_schema(engine)

    assert _rows(engine, "SELECT id, channel, user_id, address, name, active, reachable FROM member ORDER BY id") == [
        (1, "telegram", "9007199254740993", "9007199254740993", "王科长", True, True),
        (2, "telegram", None, "-1001234567890", "区商务局工作群", True, True),
        (3, "telegram", "42", "42", "督办办公室", True, False),
        (4, "telegram", "43", "43", "已解绑", False, True)]
    assert _rows(engine, "SELECT id, channel, address, member_id, dedupe_key, status, attempts, last_error "
                         "FROM outbox ORDER BY id") == [
        (1, "telegram", "9007199254740993", 1, "urge:1:9007199254740993", "pending", 0, ""),
        (2, "telegram", "-1001234567890", 2, "urge:1:-1001234567890", "sent", 1, ""),
        (3, "telegram", "42", 3, "digest:2021W27:42", "dead", 3, "Forbidden")]
    assert _rows(engine, "SELECT channel, update_id, status FROM inbox") == [("telegram", 700001, "pending")]
    assert _rows(engine, "SELECT channel, address, at FROM send_mark ORDER BY id") == [
        ("telegram", "-1001234567890", 1625100000.5), ("telegram", "42", 1625100001.25)]
    # What referred to a member still does, and references are enforced again after the migration.
    assert _rows(engine, "SELECT used_by_member_id FROM invite") == [(1,)]
    assert _rows(engine, "SELECT author_member_id FROM report") == [(1,)]
    assert _rows(engine, "SELECT member_id FROM websession") == [(3,)]
    with Session(engine) as session:
        member = session.get(Member, 1)
        assert member is not None
        # The same occasion queued again after the migration is recognised as already queued.
        assert outbox.already_queued(session, member, "urge:1")
        assert not outbox.already_queued(session, member, "urge:2")
        found = find_member(session, "telegram", "9007199254740993", "9007199254740993", is_group=False)
        assert found is not None and found.id == 1
        group = find_member(session, "telegram", "404", "-1001234567890", is_group=True)
        assert group is not None and group.id == 2
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("INSERT INTO invite (code, role, created_by, created_at, expires_at, "
                                "used_by_member_id) VALUES ('x', 'member', 'a', :at, :at, 999)"),
                           {"at": datetime(2021, 7, 1, tzinfo=UTC)})
    # Back to the numbers, while everyone is on Telegram: nothing is lost that way either.
    with engine.connect() as connection, tasks.db.migrating(connection), connection.begin():
        command.downgrade(migration_config(connection), "0014")
    assert _rows(engine, "SELECT id, user_id, chat_id FROM member ORDER BY id") == [
        (1, 9007199254740993, 9007199254740993), (2, None, -1001234567890), (3, 42, 42), (4, 43, 43)]
    assert _rows(engine, "SELECT chat_id, dedupe_key FROM outbox ORDER BY id")[0] == (
        9007199254740993, "urge:1:9007199254740993")
    engine.dispose()


def test_one_person_id_on_two_platforms_is_two_people(database_url: str) -> None:
    engine = empty_engine(database_url)
    create_schema(engine)
    clock = FixedClock(datetime(2021, 7, 1, tzinfo=UTC))
    with Session(engine) as session:
        session.add_all([Member(channel="telegram", user_id="1001", address="1001", name="甲", role=Role.OFFICE,
                                created_at=clock.now()),
                         Member(channel="feishu", user_id="1001", address="1001", name="乙", role=Role.LEADER,
                                created_at=clock.now())])
        session.commit()
        assert find_member(session, "feishu", "1001", "1001", is_group=False).name == "乙"
        assert find_member(session, "telegram", "1001", "1001", is_group=False).name == "甲"
        session.add(Member(channel="feishu", user_id="1001", address="x", name="丙", role=Role.OFFICE,
                           created_at=clock.now()))
        with pytest.raises(IntegrityError):
            session.commit()
    engine.dispose()

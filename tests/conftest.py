"""Fixtures: a real database per test (SQLite file and PostgreSQL), a clock, the seed.

Every database test runs once on SQLite and once on PostgreSQL. PostgreSQL is found
at $TASKBOT_TEST_POSTGRES_URL (default: the local server, user postgres); if it is not
reachable the PostgreSQL runs fail and say so — they are never skipped. Set
TASKBOT_TEST_BACKENDS=sqlite to run SQLite alone on purpose.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from seed import MENTOUGOU_2021, UNIT_DIRECTORY, seed_path
from tasks.clock import FixedClock
from tasks.db import create_schema, make_engine
from tasks.events import Actor
from tasks.plan.importer import prepare_database
from tasks.plan.units import UnitDirectory

POSTGRES_URL = os.environ.get("TASKBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = [b.strip() for b in os.environ.get("TASKBOT_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]

SEED_DOCUMENT = seed_path(MENTOUGOU_2021)
ADMIN = Actor("admin", "cli")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of our own on the PostgreSQL server for this test session, dropped after."""
    admin_url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"taskbot_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {admin_url} ({error}). Run scripts/bootstrap, "
                    "or set TASKBOT_TEST_BACKENDS=sqlite to test SQLite alone.")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    url = f"{base}/{name}"
    engine = make_engine(url)
    create_schema(engine)
    engine.dispose()
    yield url
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_postgres(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'taskbot.db'}"
    url = request.getfixturevalue("postgres_database")
    engine = make_engine(url)
    _empty_postgres(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2021, 6, 18, 1, 0, tzinfo=UTC))


@pytest.fixture
def directory() -> UnitDirectory:
    return UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY))


@pytest.fixture
def prepared_engine(engine: Engine, directory: UnitDirectory, clock: FixedClock) -> Engine:
    prepare_database(engine, directory, clock, ADMIN)
    return engine


@pytest.fixture
def session(prepared_engine: Engine) -> Iterator[Session]:
    with Session(prepared_engine) as session:
        yield session


@pytest.fixture
def seed_text() -> str:
    return SEED_DOCUMENT.read_text(encoding="utf-8")

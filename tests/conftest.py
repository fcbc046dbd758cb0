"""Fixtures: a real database per test (SQLite file and PostgreSQL), a clock, the seed.

Every database test runs once on SQLite and once on PostgreSQL. PostgreSQL is found
at $TASKBOT_TEST_POSTGRES_URL (default: the local server, user postgres); if it is not
reachable the PostgreSQL runs fail and say so — they are never skipped. Set
TASKBOT_TEST_BACKENDS=sqlite to run SQLite alone on purpose.

States that take a while to build (the schema, the seed directory's units, the seed plan) are
built once per process and restored as copies after (tests.databases); every pytest-xdist
worker has its own PostgreSQL database and its own files.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.sandbox.server import SandboxServer
from seed import UNIT_DIRECTORY, seed_path
from tasks.clock import FixedClock
from tasks.db import create_schema, make_engine
from tasks.plan.importer import prepare_database
from tasks.plan.units import UnitDirectory
from tests.chats import CHANNELS, Chat, open_chat
from tests.databases import (
    BACKENDS,
    POSTGRES_URL,
    bring_to,
    create_postgres_database,
    drop_postgres_database,
    empty_postgres,
)
from tests.factories import ADMIN, SEED_DOCUMENT
from tests.harness import BotHarness


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of our own on the PostgreSQL server for this test session (this xdist worker's), dropped after."""
    try:
        url = create_postgres_database()
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} ({error}). Run scripts/bootstrap, "
                    "or set TASKBOT_TEST_BACKENDS=sqlite to test SQLite alone.")
    yield url
    drop_postgres_database(url)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new database: a SQLite file not yet made, or the worker's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'taskbot.db'}"
    url = request.getfixturevalue("postgres_database")
    empty_postgres(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    bring_to(engine, "schema", create_schema)
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
    bring_to(engine, ("prepared", UNIT_DIRECTORY, clock.now()),
             lambda new: prepare_database(new, directory, clock, ADMIN))
    return engine


@pytest.fixture
def session(prepared_engine: Engine) -> Iterator[Session]:
    with Session(prepared_engine) as session:
        yield session


@pytest.fixture
def seed_text() -> str:
    return SEED_DOCUMENT.read_text(encoding="utf-8")


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    """The local Bot API server, on its own thread until the test ends."""
    server = SandboxServer().start_in_thread()
    yield server
    server.stop()


@pytest.fixture
def bot(database_url: str) -> Iterator[BotHarness]:
    """The bot on the seed plan at 09:00 Beijing on 2021-09-01, running until the test ends."""
    harness = BotHarness(database_url, FixedClock(datetime(2021, 9, 1, 1, 0, tzinfo=UTC)))
    yield harness
    harness.stop()
    # The bot never made a call the Bot API refused: every reply was valid HTML within the limits.
    assert harness.server.state.rejected == []


@pytest.fixture(params=CHANNELS)
def chat(request: pytest.FixtureRequest, database_url: str) -> Iterator[Chat]:
    """People and the bot on one chat platform (each in turn: Telegram, DingTalk, WeCom, Feishu, the
    domestic ones through their SDKs against local doubles), on the seed plan at 09:00 Beijing on
    2021-09-01, running until the test ends."""
    opened = open_chat(database_url, request.param)
    yield opened
    opened.stop()


# The files whose tests take longest, longest first. pytest-xdist hands tests out in collection
# order: a long test handed out last keeps one worker busy while the other has nothing left to do.
SLOW_FIRST = ("tests/plan/test_import_limits.py", "tests/e2e/test_year_simulation.py", "tests/e2e/test_kill_restart.py",
              "tests/e2e/test_inbox_kill.py", "tests/e2e/test_workers.py", "tests/e2e/test_delivery_kill.py",
              "tests/bot/test_consumer_lock.py", "tests/bot/test_sandbox_clock.py", "tests/bot/test_sandbox_console.py",
              "tests/plan/test_import_spreadsheets.py", "tests/bot/test_hostile_input.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(config.rootpath).as_posix()
        return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order within a file, and of the other files, stays
    # pytest-xdist's loadgroup keeps a group on one worker by adding "@group" to the node ids it
    # hands out (it has run its part of this hook by now). Where that no longer takes, the groups'
    # shared work is done again on every worker without a word: say so instead.
    if getattr(config.option, "loadgroup", False):
        lost = [item.nodeid for item in items
                if item.get_closest_marker("xdist_group") and "@" not in item.nodeid.rpartition("]")[2]]
        if lost:
            raise pytest.UsageError(f"--dist loadgroup does not group {lost[0]} (pytest-xdist and pytest "
                                    "versions that do not work together?)")

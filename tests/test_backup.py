"""Backups of a PostgreSQL database: the password stays off every command line."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlmodel import Session

from seed import UNIT_DIRECTORY, seed_path
from tasks.backup import backup, restore
from tasks.clock import FixedClock
from tasks.db import make_engine
from tasks.errors import ServiceError
from tasks.events import Actor
from tasks.models import UnitAlias
from tasks.plan.importer import prepare_database
from tasks.plan.units import UnitDirectory

PASSWORD = "Hush:pa@ss/wörd"  # characters a URL must escape: the escaped spelling must not appear either


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, str]]]:
    """Each program the test starts: its command line, as `ps` shows it to anyone, and its environment."""
    seen: list[tuple[list[str], dict[str, str] | None]] = []
    start = subprocess.run

    def watched(argv: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        seen.append((argv, options.get("env")))  # None: the child inherits ours, which holds no password
        return start(argv, **options)

    monkeypatch.setattr(subprocess, "run", watched)
    return seen


def prepared(database_url: str) -> Engine:
    engine = make_engine(database_url)
    prepare_database(engine, UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY)),
                     FixedClock(datetime(2021, 6, 18, tzinfo=UTC)), Actor("admin", "cli"))
    return engine


def test_pg_dump_and_pg_restore_get_the_password_from_their_environment_only(
        postgres_database: str, tmp_path: Path, started: list[tuple[list[str], dict[str, str] | None]]) -> None:
    url = make_url(postgres_database).set(password=PASSWORD).render_as_string(hide_password=False)
    engine = prepared(postgres_database)
    path = backup(url, tmp_path / "taskbot.backup")
    with engine.begin() as connection:
        aliases = connection.execute(select(func.count()).select_from(UnitAlias)).scalar_one()
        connection.execute(UnitAlias.__table__.delete())
    restore(url, path)

    # pg_dump, pg_restore --list (the backup's check that the file is whole: no connection), pg_restore
    assert [Path(argv[0]).name for argv, _ in started] == ["pg_dump", "pg_restore", "pg_restore"]
    for argv, _ in started:
        assert "Hush" not in " ".join(argv)
    connecting = [environment for argv, environment in started if "--list" not in argv]
    assert [environment["PGPASSWORD"] for environment in connecting] == [PASSWORD, PASSWORD]
    with Session(engine) as session:
        assert aliases > 0 and session.execute(select(func.count()).select_from(UnitAlias)).scalar_one() == aliases
    engine.dispose()


def test_a_password_given_as_a_url_parameter_leaves_the_command_line_too(
        postgres_database: str, tmp_path: Path, started: list[tuple[list[str], dict[str, str] | None]]) -> None:
    engine = prepared(postgres_database)
    engine.dispose()
    assert backup(f"{postgres_database}?password=Hush&connect_timeout=5", tmp_path / "taskbot.backup").stat().st_size
    (argv, environment), (listing, _) = started
    assert "Hush" not in " ".join(argv) and "connect_timeout=5" in argv[-1]
    assert "Hush" not in " ".join(listing)
    assert environment["PGPASSWORD"] == "Hush"


def test_a_failed_backup_leaves_the_last_good_one_in_place(postgres_database: str, tmp_path: Path) -> None:
    engine = prepared(postgres_database)
    engine.dispose()
    path = backup(postgres_database, tmp_path / "taskbot.backup")
    good = path.read_bytes()
    gone = make_url(postgres_database).set(database="taskbot_no_such_database").render_as_string(hide_password=False)
    with pytest.raises(ServiceError, match="pg_dump 失败"):
        backup(gone, path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["taskbot.backup"]  # nothing half-written beside it

"""PostgreSQL connections the server closed behind the pool's back (a restart, an idle timeout)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import Engine, exc

from tasks import db
from tests.databases import POSTGRES_URL


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _server_closes(pid: int) -> None:
    with psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)


def test_a_connection_closed_while_it_waited_in_the_pool_is_replaced_before_use(
        postgres_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every connection counts as having waited
    engine = db.make_engine(postgres_database)
    try:
        closed = _backend_pid(engine)
        _server_closes(closed)
        # The transaction runs on a new connection instead of failing on the dead one.
        assert _backend_pid(engine) != closed
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged_and_the_pool_recovers_after_one_failure(
        postgres_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    engine = db.make_engine(postgres_database)
    try:
        closed = _backend_pid(engine)
        _server_closes(closed)
        with pytest.raises(exc.OperationalError) as failure:
            _backend_pid(engine)
        assert failure.value.connection_invalidated
        assert _backend_pid(engine) != closed  # the next transaction connects afresh
    finally:
        engine.dispose()

"""Writing many rows in the current transaction: what an import loads and a planner tick moves.

SQLAlchemy's executemany runs every value through its column type's bind processor, and
psycopg sends an executemany as one INSERT per row, each firing the tally's statement-level
trigger once. Here each column's processor runs once per distinct value (an import repeats
the same timestamps and deadlines thousands of times; a tick moves a thousand duties to a
few next moments), the driver receives plain tuples, and a PostgreSQL load is one COPY: a
single statement, whose triggers see the whole load.
The values stored are exactly those the ORM would store: the same processors make them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from sqlmodel import SQLModel


def load_rows(connection: Connection, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``model``'s table, in the caller's transaction."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    names = list(rows[0])
    values = _plain_values(connection, table, names, rows)
    target = _target(connection, table, names)
    if connection.dialect.name == "postgresql":
        # The DBAPI connection under this Connection: the COPY runs inside the same transaction.
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)
    else:
        connection.exec_driver_sql(f"INSERT INTO {target} VALUES ({_placeholders(connection, len(names))})", values)


def insert_new_rows(connection: Connection, model: type[SQLModel], unique: str, rows: list[dict[str, Any]]) -> int:
    """INSERT ``rows`` into ``model``'s table except those whose ``unique`` column value is there
    already, as one executemany in the caller's transaction; returns how many were written."""
    if not rows:
        return 0
    table = model.__table__  # type: ignore[attr-defined]
    names = list(rows[0])
    result = connection.exec_driver_sql(
        f"INSERT INTO {_target(connection, table, names)} VALUES ({_placeholders(connection, len(names))}) "
        f"ON CONFLICT ({connection.dialect.identifier_preparer.quote(unique)}) DO NOTHING",
        _plain_values(connection, table, names, rows))
    return result.rowcount  # summed over the rows by both drivers: the skipped ones count 0


def update_rows(connection: Connection, model: type[SQLModel], key: str, rows: list[dict[str, Any]]) -> None:
    """UPDATE ``model``'s table, each row found by its ``key`` column and given the other columns'
    values (dicts with the same keys), as one executemany in the caller's transaction."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    changed = [name for name in rows[0] if name != key]
    values = _plain_values(connection, table, [*changed, key], rows)
    preparer = connection.dialect.identifier_preparer
    placeholder = _placeholders(connection, 1)
    assignments = ", ".join(f"{preparer.quote(name)} = {placeholder}" for name in changed)
    connection.exec_driver_sql(f"UPDATE {preparer.format_table(table)} SET {assignments} "
                               f"WHERE {preparer.quote(key)} = {placeholder}", values)


def _target(connection: Connection, table: Any, names: list[str]) -> str:
    """``table (column, …)`` quoted for the connection's database."""
    preparer = connection.dialect.identifier_preparer
    return f"{preparer.format_table(table)} ({', '.join(preparer.quote(name) for name in names)})"


def _placeholders(connection: Connection, count: int) -> str:
    """``count`` parameter markers in the driver's style: ``?`` for sqlite3, ``%s`` for psycopg."""
    return ", ".join(["?" if connection.dialect.paramstyle == "qmark" else "%s"] * count)


def _plain_values(connection: Connection, table: Any, names: list[str], rows: list[dict[str, Any]]
                  ) -> list[tuple[Any, ...]]:
    """The rows' values for ``names`` as the driver takes them, through each column's bind processor."""
    dialect = connection.dialect
    columns = [[row[name] for row in rows] for name in names]
    for index, name in enumerate(names):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            columns[index] = _processed(columns[index], process)
    return list(zip(*columns, strict=True))


def _processed(column: list[Any], process: Callable[[Any], Any]) -> list[Any]:
    try:
        distinct = {value: process(value) for value in set(column)}
    except TypeError:  # unhashable values, such as JSON documents: each is processed
        return [process(value) for value in column]
    return list(map(distinct.__getitem__, column))

"""Loading tens of thousands of rows in the current transaction: what an import writes.

SQLAlchemy's executemany runs every value through its column type's bind processor, and
psycopg sends an executemany as one INSERT per row, each firing the tally's statement-level
trigger once. Here each column's processor runs once per distinct value (an import repeats
the same timestamps and deadlines thousands of times), SQLite receives one executemany of
plain tuples, and PostgreSQL one COPY: a single statement, whose triggers see the whole load.
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
    dialect = connection.dialect
    columns = [[row[name] for row in rows] for name in names]
    for index, name in enumerate(names):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            columns[index] = _processed(columns[index], process)
    values = list(zip(*columns, strict=True))
    preparer = dialect.identifier_preparer
    target = f"{preparer.format_table(table)} ({', '.join(preparer.quote(name) for name in names)})"
    if dialect.name == "postgresql":
        # The DBAPI connection under this Connection: the COPY runs inside the same transaction.
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)
    else:
        connection.exec_driver_sql(f"INSERT INTO {target} VALUES ({', '.join('?' * len(names))})", values)


def _processed(column: list[Any], process: Callable[[Any], Any]) -> list[Any]:
    try:
        distinct = {value: process(value) for value in set(column)}
    except TypeError:  # unhashable values, such as JSON documents: each is processed
        return [process(value) for value in column]
    return list(map(distinct.__getitem__, column))

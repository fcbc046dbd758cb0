"""Importing a year's document: read it, resolve its units, store it — all or nothing.

    document (.txt/.md, .csv, .xlsx/.xls) -> ParsedPlan (items + problems) -> database rows

``parse_file`` is what ``--dry-run`` shows; ``import_file`` stores exactly that in
one transaction.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import Session

from tasks.clock import Clock
from tasks.db import create_schema, take_migration_lock, transaction
from tasks.events import Actor
from tasks.plan.column_fit import fit_to_columns
from tasks.plan.directory import directory_from_db, sync_directory
from tasks.plan.parsed import ParsedPlan
from tasks.plan.spreadsheets import WORKBOOK_SUFFIXES, decode_text, nul_problem, read_spreadsheet
from tasks.plan.store import ImportSummary, store_plan
from tasks.plan.units import UnitDirectory
from tasks.plan.workplan import DocumentError, read_workplan

SPREADSHEET_SUFFIXES = (".csv", ".tsv", *WORKBOOK_SUFFIXES)

__all__ = ["DocumentError", "import_file", "parse_file", "prepare_database"]


# Bytes of a text document or CSV file: the bundled year's document is 39 KB, a 100,000-row task
# list as CSV about 4 MB. What an import builds grows with the text, and a 50 MB document took more
# than ten minutes (bench/bench_limits.py); larger ones are refused before they are read.
MAX_TEXT_BYTES = 10 << 20


def parse_file(path: Path, directory: UnitDirectory, *, year: int | None = None,
               title: str | None = None) -> ParsedPlan:
    if not path.is_file():
        raise DocumentError(f"找不到文件：{path}")
    is_workbook = path.suffix.lower() in WORKBOOK_SUFFIXES
    if not is_workbook and (size := path.stat().st_size) > MAX_TEXT_BYTES:
        raise DocumentError(f"文件有 {size / 2**20:.0f} MB，超过一次导入的上限 {MAX_TEXT_BYTES >> 20} MB，"
                            "请确认文件无误，或拆分成几个文件分别导入")
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        plan = read_spreadsheet(path, directory, year=year, title=title)
    else:
        data = path.read_bytes()
        plan = read_workplan(decode_text(data), directory, year=year, source=str(path))
        if dropped := nul_problem(data):
            plan.problems.append(dropped)
        if title:
            plan.title = title
        plan.problems.sort(key=lambda p: (p.line is None, p.line or 0))
    # What SQLite would keep and PostgreSQL refuse is cut or left out here, for both alike.
    fit_to_columns(plan)
    return plan


def prepare_database(engine: Engine, seed_directory: UnitDirectory, clock: Clock, actor: Actor) -> int:
    """Create the tables and add the seed directory's units; safe to run any number of times."""
    create_schema(engine)
    with transaction(engine) as session:
        take_migration_lock(session)  # starters that add the same units at once would collide on their names
        return sync_directory(session, seed_directory, clock, actor)


def preview_file(session: Session, path: Path, *, district: str, year: int | None = None,
                 title: str | None = None) -> ParsedPlan:
    """What an import would store, read against the directory as the database has it now."""
    return parse_file(path, directory_from_db(session, district), year=year, title=title)


def import_file(engine: Engine, path: Path, clock: Clock, actor: Actor, *, district: str,
                year: int | None = None, title: str | None = None) -> tuple[ParsedPlan, ImportSummary]:
    with transaction(engine) as session, _cyclic_gc_paused():
        parsed = preview_file(session, path, district=district, year=year, title=title)
        summary = store_plan(session, parsed, clock, actor)
    if summary.created >= ANALYZE_AFTER:
        refresh_statistics(engine)
    return parsed, summary


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """An import builds a few hundred thousand objects that all live until it ends (parsed items,
    row dicts, events). Each allocation burst makes Python's cyclic collector walk every one of
    them again, to find no garbage: 0.45 s of a 3 s import of 10,000 rows went there. Reference counting
    still frees everything as usual; the few cycles (ORM state) are collected once it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


ANALYZE_AFTER = 1000  # new rows: enough to change the query plans the bot relies on


def refresh_statistics(engine: Engine) -> None:
    """After a large import the database's statistics are stale until autovacuum notices;
    the planner and the office's queries should not pay for that."""
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))

"""Importing a year's document: read it, resolve its units, store it — all or nothing.

    document (.txt/.md, .docx, .csv, .xlsx/.xls) -> ParsedPlan (items + problems) -> database rows

``parse_file`` is what ``--dry-run`` shows; ``import_file`` stores exactly that in
one transaction. Both tell a ``Progress`` callback each stage as it ends (the command line shows
them on a terminal); nothing here prints.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import Session

from tasks.clock import Clock
from tasks.db import create_schema, take_migration_lock, transaction
from tasks.events import Actor
from tasks.plan.chosen_columns import ColumnChoice, ColumnsError
from tasks.plan.column_fit import fit_to_columns
from tasks.plan.directory import directory_from_db, sync_directory
from tasks.plan.document import Block, Paragraph, Table, read_blocks
from tasks.plan.formats import input_kind
from tasks.plan.parsed import ParsedPlan
from tasks.plan.resolutions import Resolutions
from tasks.plan.spreadsheets import decode_text, load_sheets, nul_problem, read_sheets
from tasks.plan.store import ImportSummary, store_plan
from tasks.plan.units import UnitDirectory
from tasks.plan.word import read_docx
from tasks.plan.workplan import DocumentError, read_document
from tasks.script import AsWritten, is_traditional, to_simplified

__all__ = ["DocumentError", "Progress", "Stage", "import_file", "parse_file", "prepare_database"]


# Bytes of a text document or CSV file: the bundled year's document is 39 KB, a 100,000-row task
# list as CSV about 4 MB. What an import builds grows with the text, and a 50 MB document took more
# than ten minutes (bench/bench_limits.py); larger ones are refused before they are read.
MAX_TEXT_BYTES = 10 << 20

KIND_NAMES = {"workpoint": "工作要点", "task": "任务", "project": "项目", "team": "工作专班"}


@dataclass(frozen=True)
class Stage:
    """A stage of an import: begun (``done`` false, no counts yet) or ended, with what it counted."""

    name: str  # 读取文件 / 识别内容 / 核对单位 / 写入数据库
    counts: tuple[tuple[str, int], ...] = ()
    done: bool = True


Progress = Callable[[Stage], None]


def _quiet(_stage: Stage) -> None:
    pass


def parse_file(path: Path, directory: UnitDirectory, *, year: int | None = None,
               title: str | None = None, columns: ColumnChoice | None = None,
               progress: Progress = _quiet) -> ParsedPlan:
    if not path.is_file():
        raise DocumentError(f"找不到文件：{path}")
    kind = input_kind(path)
    if columns is not None and kind != "spreadsheet":
        raise ColumnsError("--columns 只用于表格文件（.csv、.xlsx、.xls）；Word 文档和文本中的表格按表头的列名识别")
    # Workbooks and Word files are limited by what they hold, once opened (their readers say).
    is_text = kind == "text" or path.suffix.lower() in (".csv", ".tsv")
    if is_text and (size := path.stat().st_size) > MAX_TEXT_BYTES:
        raise DocumentError(f"文件有 {size / 2**20:.0f} MB，超过一次导入的上限 {MAX_TEXT_BYTES >> 20} MB，"
                            "请确认文件无误，或拆分成几个文件分别导入")
    progress(Stage("读取文件", done=False))
    locations: dict[int, str] = {}
    if kind == "spreadsheet":
        sheets, dropped = load_sheets(path)
        progress(Stage("读取文件", (("工作表", len(sheets)), ("行", sum(len(rows) for _n, rows in sheets)))))
        plan = read_sheets(path, sheets, dropped, directory, year=year, title=title, columns=columns)
    elif kind == "word":
        word = read_docx(path)
        progress(Stage("读取文件", (("段落", word.paragraphs), ("表格", word.tables))))
        blocks, back = _read_as_simplified(word.blocks)
        plan = _given_back(read_document(blocks, directory, year=year, source=str(path)), back)
        plan.problems += word.problems
        locations = word.locations
    else:
        data = path.read_bytes()
        written = decode_text(data)
        simplified = to_simplified(written) if is_traditional(written) else written
        blocks = read_blocks(simplified)
        progress(Stage("读取文件", (("行", data.count(b"\n") + 1),
                                   ("表格", sum(1 for b in blocks if isinstance(b, Table))))))
        plan = read_document(blocks, directory, year=year, source=str(path))
        if simplified is not written:
            plan = _given_back(plan, AsWritten(written, simplified))
        if dropped := nul_problem(data):
            plan.problems.append(dropped)
        plan.problems.sort(key=lambda p: (p.line is None, p.line or 0))
    if title:
        plan.title = title
    progress(Stage("识别内容", tuple((name, n) for kind_, name in KIND_NAMES.items()
                                     if (n := len(plan.of_kind(kind_))))))
    # What SQLite would keep and PostgreSQL refuse is cut or left out here, for both alike.
    fit_to_columns(plan)
    if locations:
        _word_locations(plan, locations)
    named = {unit for item in plan.items for unit in item.units}
    progress(Stage("核对单位", (("单位", len(named)), ("新单位", len(plan.new_units)),
                               ("问题", len(plan.problems)))))
    return plan


def _read_as_simplified(blocks: list[Block]) -> tuple[list[Block], AsWritten | None]:
    """A Word document in traditional characters, as simplified blocks (see tasks.script)."""
    written = "\n".join(b.text if isinstance(b, Paragraph) else "\n".join("\t".join(r.cells) for r in b.rows)
                        for b in blocks)
    if not is_traditional(written):
        return blocks, None
    converted: list[Block] = [
        replace(b, text=to_simplified(b.text)) if isinstance(b, Paragraph)
        else replace(b, rows=[replace(r, cells=[to_simplified(c) for c in r.cells]) for r in b.rows])
        for b in blocks]
    return converted, AsWritten(written, to_simplified(written))


_QUOTED = re.compile(r"“([^”]*)”")


def _given_back(plan: ParsedPlan, back: AsWritten | None) -> ParsedPlan:
    """What was read from a traditional document, in the document's own characters: its words and
    the units it names; units the directory already knows keep the directory's names."""
    if back is None:
        return plan
    new_units = set(plan.new_units)
    plan.title = back(plan.title)
    plan.new_units = {back(name): kind for name, kind in plan.new_units.items()}
    for item in plan.items:
        item.text, item.deadline_text = back(item.text), back(item.deadline_text)
        item.category = back(item.category) if item.category else item.category
        item.topic = back(item.topic) if item.topic else item.topic
        item.units = [back(u) if u in new_units else u for u in item.units]
        item.roles = {back(u) if u in new_units else u: role for u, role in item.roles.items()}
        item.units_as_written = [back(u) for u in item.units_as_written]
        item.officials = [back(o) for o in item.officials]
    plan.problems = [replace(p, text=back(p.text), message=_QUOTED.sub(lambda m: f"“{back(m[1])}”", p.message))
                     for p in plan.problems]
    return plan


def _word_locations(plan: ParsedPlan, locations: dict[int, str]) -> None:
    """Problems and items of a Word document said where Word shows them (表2第5行, 第3段), not at
    the line numbers the reader counted; and in document order."""
    plan.problems.sort(key=lambda p: (p.line is None, p.line or 0))
    plan.problems = [replace(p, where=locations[p.line], line=None) if p.line in locations else p
                     for p in plan.problems]
    for item in plan.items:
        item.line = None


def prepare_database(engine: Engine, seed_directory: UnitDirectory, clock: Clock, actor: Actor) -> int:
    """Create the tables and add the seed directory's units; safe to run any number of times."""
    create_schema(engine)
    with transaction(engine) as session:
        take_migration_lock(session)  # starters that add the same units at once would collide on their names
        return sync_directory(session, seed_directory, clock, actor)


def preview_file(session: Session, path: Path, *, district: str, year: int | None = None,
                 title: str | None = None, columns: ColumnChoice | None = None,
                 progress: Progress = _quiet) -> ParsedPlan:
    """What an import would store, read against the directory as the database has it now."""
    return parse_file(path, directory_from_db(session, district), year=year, title=title, columns=columns,
                      progress=progress)


def import_file(engine: Engine, path: Path, clock: Clock, actor: Actor, *, district: str,
                year: int | None = None, title: str | None = None, columns: ColumnChoice | None = None,
                progress: Progress = _quiet, resolutions: Resolutions | None = None,
                source: str | None = None) -> tuple[ParsedPlan, ImportSummary]:
    """``resolutions``: the office's decisions on the document's unit problems, applied in the same
    transaction (tasks.plan.resolutions); ``source``: how the plan names its document, when the file
    read is a copy (an upload) rather than the path given."""
    with transaction(engine) as session, _cyclic_gc_paused():
        parsed = preview_file(session, path, district=district, year=year, title=title, columns=columns,
                              progress=progress)
        if source is not None:
            parsed.source = source
        if resolutions:
            resolutions.settle(parsed)
        progress(Stage("写入数据库", done=False))
        summary = store_plan(session, parsed, clock, actor)
        if resolutions:
            resolutions.apply(session, clock, parsed, summary)
    progress(Stage("写入数据库", (("新增", summary.created), ("更新", summary.updated),
                                 ("撤销", summary.withdrawn))))
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

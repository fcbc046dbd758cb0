"""The task list or project plan as office staff keep it: CSV and Excel files.

Each sheet (or the CSV file) is one table; the header row is found by its column
names, title rows above it are skipped, and merged cells (which the reader reports
as empty) are carried forward by the table reader like any other empty cell.

Workbooks (.xlsx, .xlsm and the older .xls that many offices still send) are read with calamine
in a fenced child process (see ``tasks.plan.workbook_reader``).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from tasks.plan.parsed import ParsedPlan, Problem
from tasks.plan.tables import HEADER_SEARCH_ROWS, SourceRow, read_table
from tasks.plan.unit_reading import UnitReader
from tasks.plan.units import UnitDirectory
from tasks.plan.workbook_reader import read_workbook
from tasks.plan.workplan import DocumentError
from tasks.text import NUL, YEAR, compact, without_nul


def decode_text(data: bytes) -> str:
    """Office files come as UTF-8 (with or without BOM) or as GB18030 from older Windows.
    NUL characters are dropped (see tasks.text.NUL; ``nul_problem`` reports them)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return without_nul(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    raise DocumentError("文件编码无法识别（应为 UTF-8 或 GB18030）")


def nul_problem(data: bytes) -> Problem | None:
    """The NUL characters ``decode_text`` dropped, as one problem for the office. (In UTF-8 and
    GB18030 no byte of a multi-byte character is 0, so the bytes can be counted.)"""
    dropped = data.count(NUL.encode())
    if not dropped:
        return None
    return Problem("text.nul", "全文", "", f"文件中有 {dropped} 个不可见的空字符（NUL），已删除")


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")


def csv_sheets(path: Path, data: bytes) -> list[tuple[str, list[SourceRow]]]:
    text = decode_text(data)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    rows = [SourceRow(f"第{number}行", [c.strip() for c in cells], number)
            for number, cells in enumerate(csv.reader(io.StringIO(text), dialect), start=1)]
    return [(path.stem, rows)]


def workbook_sheets(path: Path) -> list[tuple[str, list[SourceRow]]]:
    return [(name, [SourceRow(f"工作表{name}第{number}行", cells, number)
                     for number, cells in enumerate(rows, start=1)])
            for name, rows in read_workbook(path)]


def read_spreadsheet(path: Path, directory: UnitDirectory, *, year: int | None = None,
                     title: str | None = None) -> ParsedPlan:
    dropped: Problem | None = None
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        sheets = workbook_sheets(path)
    else:
        data = path.read_bytes()
        sheets, dropped = csv_sheets(path, data), nul_problem(data)
    # A title row above the header ("2021年…任务清单") names the plan and its year.
    title_cells = [compact(c) for _name, rows in sheets for r in rows[:HEADER_SEARCH_ROWS]
                   for c in r.cells if c and YEAR.search(c)]
    title = title or (title_cells[0] if title_cells else compact(path.stem))
    if year is None:
        match = YEAR.search(title) or next((m for c in title_cells if (m := YEAR.search(c))), None)
        if match is None:
            raise DocumentError("无法从表格中确定年份，请用 --year 指定")
        year = int(match.group(1))
    reader = UnitReader(directory)
    plan = ParsedPlan(year=year, title=title, source=str(path), new_units=reader.new_units)
    if dropped is not None:
        plan.problems.append(dropped)
    refs: Counter[str] = Counter()
    for _name, rows in sheets:
        if not any(any(c for c in r.cells) for r in rows):
            continue
        result = read_table(rows, year, reader, refs)
        plan.items += result.items
        plan.problems += result.problems
    if not plan.items:
        raise DocumentError("表格中没有读到任何任务或项目（需要“任务内容”“责任单位”等列）")
    return plan

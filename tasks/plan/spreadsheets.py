"""The task list or project plan as office staff keep it: CSV and Excel files.

Each sheet (or the CSV file) is one table; the header row is found by its column
names, title rows above it are skipped, and merged cells (which the reader reports
as empty) are carried forward by the table reader like any other empty cell.

When the office names the columns (``taskbot import --columns``, tasks.plan.chosen_columns) the
header is not looked for by its names. The ledger template's "填写说明" sheet and the filled ledger's
"按单位统计" and hidden "台账标识" sheets (``taskbot export``) are never read; a filled ledger as a
whole is imported by tasks.plan.ledger_import, not here.

Workbooks (.xlsx, .xlsm and the older .xls that many offices still send) are read with calamine
in a fenced child process (see ``tasks.plan.workbook_reader``).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from tasks.plan.chosen_columns import ColumnChoice, chosen_header, not_found, skipped_sheet
from tasks.plan.ledger import GUIDE_SHEET, IDENTITY_SHEET, UNIT_SHEET
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
            # Old Macs end lines with a lone CR, which the csv reader refuses.
            return without_nul(data.decode(encoding)).replace("\r\n", "\n").replace("\r", "\n")
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
SPREADSHEET_SUFFIXES = (".csv", ".tsv", *WORKBOOK_SUFFIXES)


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


Sheet = tuple[str, list[SourceRow]]


def load_sheets(path: Path) -> tuple[list[Sheet], Problem | None]:
    """Every sheet's rows (the ledger's instructions and figures left out), and the NUL characters a
    CSV file held, as a problem."""
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        never_read = (GUIDE_SHEET, UNIT_SHEET, IDENTITY_SHEET)
        return [(name, rows) for name, rows in workbook_sheets(path) if name not in never_read], None
    data = path.read_bytes()
    return csv_sheets(path, data), nul_problem(data)


def read_spreadsheet(path: Path, directory: UnitDirectory, *, year: int | None = None,
                     title: str | None = None, columns: ColumnChoice | None = None) -> ParsedPlan:
    sheets, dropped = load_sheets(path)
    return read_sheets(path, sheets, dropped, directory, year=year, title=title, columns=columns)


def read_sheets(path: Path, sheets: list[Sheet], dropped: Problem | None, directory: UnitDirectory, *,
                year: int | None = None, title: str | None = None,
                columns: ColumnChoice | None = None) -> ParsedPlan:
    """The sheets' tables as one plan: each sheet's header found by its names, or the columns the
    office named (``columns``)."""
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
    found = False
    for name, rows in sheets:
        if not any(any(c for c in r.cells) for r in rows):
            continue
        if columns is None:
            result = read_table(rows, year, reader, refs)
        elif chosen := chosen_header(columns, rows):
            found = True
            result = read_table(chosen[1], year, reader, refs, header=chosen[0])
        else:
            plan.problems.append(skipped_sheet(columns, name))
            continue
        plan.items += result.items
        plan.problems += result.problems
    if columns is not None and not found:
        raise not_found(columns, sheets)
    if not plan.items:
        raise DocumentError("表格中没有读到任何任务或项目（需要“任务内容”“责任单位”等列）")
    return plan

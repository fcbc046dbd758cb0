"""Columns the office names when the header detection does not know a spreadsheet's headers.

    taskbot import 台账.xlsx --columns 任务=B,责任单位=D,完成时限=E
    taskbot import 台账.xlsx --columns 任务=工作内容,责任单位=负责科室,完成时限=时间要求

Each key is a task field by any name the column vocabulary (tasks.plan.columns) knows for it; each
value a column letter or the header's text as written in the file. The header row is:

- with names: the first row holding all of them (every sheet is searched; a sheet without them is
  left out, and said so);
- with letters only: the first row with text in at least two cells, so that title rows above the
  header (one merged cell each) are passed over;
- ``--header-row N`` in either case: row N exactly, and 0 for a sheet with no header row at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.plan.columns import TASK_COLUMNS, TASK_FIELD_LABELS, Header
from tasks.plan.parsed import Problem
from tasks.plan.tables import SourceRow
from tasks.plan.workplan import DocumentError
from tasks.text import compact

# Rows searched for the named header: title rows and notes above a header are rarely more.
HEADER_SEARCH_ROWS = 20
_LETTERS = re.compile(r"^[A-Z]{1,3}$")
_PAIRS = re.compile(r"[,，;；]")
_EQUALS = re.compile(r"[=＝:：]")
# The least a task list needs: what is to be done, and by whom.
_OWNER_FIELDS = ("units", "lead", "co")


class ColumnsError(DocumentError):
    """--columns names a field, a column or a header that cannot be used."""


def accepted_fields() -> str:
    """The fields --columns accepts, each by its usual name and a few others it is known by."""
    listed = []
    for field_name, label in TASK_FIELD_LABELS.items():
        others = [n for n in TASK_COLUMNS[field_name] if n != label and len(n) >= 2][:2]
        listed.append(f"{label}（或{'、'.join(others)}）" if others else label)
    return "、".join(listed)


@dataclass(frozen=True)
class ColumnChoice:
    columns: dict[str, str]  # field -> column letter or header text, as the office wrote it
    header_row: int | None = None  # 1-based; 0: the sheet has no header row; None: found as above

    @property
    def by_name(self) -> bool:
        return any(not _is_letter(value) for value in self.columns.values())


def _is_letter(value: str) -> bool:
    return bool(_LETTERS.match(compact(value).upper())) and compact(value).isascii()


def _column_index(letters: str) -> int:
    index = 0
    for letter in compact(letters).upper():
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _field_of(key: str) -> str | None:
    wanted = compact(key)
    return next((f for f, names in TASK_COLUMNS.items() if wanted == TASK_FIELD_LABELS[f] or wanted in names), None)


def parse_columns(spec: str, header_row: int | None = None) -> ColumnChoice:
    """``任务=B,责任单位=D`` as a choice of columns, or a ColumnsError saying what is accepted."""
    if header_row is not None and header_row < 0:
        raise ColumnsError(f"--header-row 应为表头所在的行号（从 1 起；没有表头时写 0），收到 {header_row}")
    columns: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in _PAIRS.split(spec))):
        parts = _EQUALS.split(pair, maxsplit=1)
        key, value = (parts[0].strip(), parts[1].strip()) if len(parts) == 2 else (pair, "")
        if not value:
            raise ColumnsError(f"--columns 中的“{pair}”应写成“列名=列”，如 任务=B 或 任务=工作内容")
        field_name = _field_of(key)
        if field_name is None:
            raise ColumnsError(f"--columns 中的“{key}”不是能识别的列：可以写 {accepted_fields()}")
        if field_name in columns:
            raise ColumnsError(f"--columns 中{TASK_FIELD_LABELS[field_name]}写了两次"
                               f"（“{columns[field_name]}”和“{value}”）")
        if _is_letter(value) and _column_index(value) >= 16384:
            raise ColumnsError(f"--columns 中的列“{value}”超出了表格的范围（最后一列是 XFD）")
        columns[field_name] = value
    if "text" not in columns or not any(f in columns for f in _OWNER_FIELDS):
        raise ColumnsError("--columns 至少要指明任务内容一列和责任单位（或牵头单位、配合单位）一列，"
                           f"如 任务=B,责任单位=D；可以写 {accepted_fields()}")
    letters = [compact(v).upper() for v in columns.values() if _is_letter(v)]
    if len(set(letters)) < len(letters):
        raise ColumnsError("--columns 中有两项指向同一列：每一列只能对应一项")
    return ColumnChoice(columns, header_row)


def _filled(row: SourceRow) -> int:
    return sum(1 for cell in row.cells if cell.strip())


def _header_index(choice: ColumnChoice, rows: list[SourceRow]) -> int | None:
    """Where the header row is in ``rows`` (-1: there is none), None if the names are not there."""
    if choice.header_row is not None:
        index = choice.header_row - 1
        if index >= len(rows):
            return None
        return index if index < 0 or not choice.by_name or _positions(choice, rows[index]) else None
    if choice.by_name:
        return next((i for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]) if _positions(choice, row)), None)
    return next((i for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]) if _filled(row) >= 2), -1)


def _positions(choice: ColumnChoice, row: SourceRow | None) -> dict[str, int] | None:
    """Each field's column: a letter's own, a name's where the header row writes it."""
    keys = [compact(c) for c in row.cells] if row is not None else []
    positions: dict[str, int] = {}
    for field_name, value in choice.columns.items():
        if _is_letter(value):
            positions[field_name] = _column_index(value)
        elif compact(value) in keys:
            positions[field_name] = keys.index(compact(value))
        else:
            return None
    if len(set(positions.values())) < len(positions):
        return None
    return positions


def chosen_header(choice: ColumnChoice, rows: list[SourceRow]) -> tuple[Header, list[SourceRow]] | None:
    """The header the office named and the rows below it (a header repeated on a later page left
    out); None if this sheet does not hold the names."""
    index = _header_index(choice, rows)
    if index is None:
        return None
    header_row = rows[index] if index >= 0 else None
    positions = _positions(choice, header_row)
    if positions is None:
        return None
    header = Header("task", positions, tuple(compact(c) for c in header_row.cells) if header_row else ())
    body = rows[index + 1:]
    if header_row is not None and _filled(header_row) >= 2:
        body = [r for r in body if not header.repeats(r.cells)]
    return header, body


def not_found(choice: ColumnChoice, sheets: list[tuple[str, list[SourceRow]]]) -> ColumnsError:
    """What to tell the office when no sheet holds the named headers: the rows it may have meant."""
    names = "、".join(f"“{v}”" for v in choice.columns.values() if not _is_letter(v))
    first = next((rows for _name, rows in sheets if rows), [])
    if choice.header_row is not None and choice.header_row > len(first):
        return ColumnsError(f"--header-row {choice.header_row} 超出了表格的行数（共 {len(first)} 行）")
    candidates = [r for r in first[:HEADER_SEARCH_ROWS] if _filled(r) >= 2][:1]
    seen = f"；表头像是{candidates[0].where}：{'、'.join(c.strip() for c in candidates[0].cells if c.strip())}" \
        if candidates else ""
    where = f"第{choice.header_row}行" if choice.header_row else f"前 {HEADER_SEARCH_ROWS} 行"
    return ColumnsError(f"表格{where}中没有找到 --columns 写的列名 {names}（列名须与表头中写的一致，"
                        f"也可以用列字母，如 任务=B）{seen}")


def skipped_sheet(choice: ColumnChoice, name: str) -> Problem:
    names = "、".join(v for v in choice.columns.values() if not _is_letter(v))
    return Problem("columns.not_found", f"工作表{name}", names,
                   f"工作表“{name}”中没有找到 --columns 写的列名，整张表未导入")

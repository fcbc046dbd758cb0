"""Tables drawn with box-drawing characters, as a Word or WPS file saved as plain text gives them.

    ┌──────────────┬───┬────────┐
    │ 工 作 任 务  │分管领│牵头单位 │
    │              │ 导 │        │
    ├──────────────┼───┼────────┤
    │抓好财税金融工作│梁志强│市财政局、国│
    ├──────────────┤   │家税务局    │
    │△加强财政监督  │   │           │

Each line is cut at its vertical bars into one piece per column. A piece of nothing but horizontal
rule closes that column's cell; any other piece is one more line of it. A cell merged down several
rows is a column whose rule does not come, so each column is read on its own, and the rows are those
of the column cut into the most cells: each row takes, from every other column, the cell beside its
first line, once (the rows after it under the same cell are left empty, merged with the row above).
"""

from __future__ import annotations

import re

from tasks.plan.vertical_tables import FlatTable
from tasks.text import compact

_CORNERS_TOP = "┌╔╒╓┏"
_CORNERS_BOTTOM = "└╚╘╙┗"
_BARS = "│║┃├┤┼┬┴┌┐└┘╠╣╬╦╩╔╗╚╝╟╢╫╞╡╪╤╧╥╨╒╓╕╖╘╙╛╜┝┥┿┣┫╋┳┻┏┓┗┛"
_SPLIT = re.compile(f"[{_BARS}]")
_RULE = re.compile(r"^[─═━\-\s]+$")
# A cell's line that begins a list item of its own (a bullet), kept on its own line.
_BULLET_START = re.compile(r"^[△▲●◆■□▪•◇○]")


def find_box_tables(lines: list[str]) -> list[FlatTable]:
    """Every box-drawn table in ``lines``: its header row first, then its rows, each row's empty
    cells merged with the row above (``closed_rows``)."""
    tables: list[FlatTable] = []
    index = 0
    while index < len(lines):
        if not lines[index].strip().startswith(tuple(_CORNERS_TOP)):
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip()[:1] in _BARS and lines[end].strip():
            end += 1
            if lines[end - 1].strip().startswith(tuple(_CORNERS_BOTTOM)):
                break
        if (table := _read(lines, index, end)) is not None:
            tables.append(table)
        index = end
    return tables


def _pieces(line: str) -> list[str]:
    stripped = line.strip()
    return _SPLIT.split(stripped)[1:-1]


def _read(lines: list[str], first: int, end: int) -> FlatTable | None:
    width = len(_pieces(lines[first]))
    if width < 2:
        return None
    # Per column, its cells: (the line its words begin on, its lines).
    columns: list[list[tuple[int, list[str]]]] = [[] for _ in range(width)]
    open_cells: list[tuple[int, list[str]] | None] = [None] * width
    for number in range(first + 1, end):
        pieces = _pieces(lines[number])
        if len(pieces) != width:
            continue  # a line the conversion broke differently: its words cannot be placed
        for column, piece in enumerate(pieces):
            if _RULE.match(piece) and re.search("[─═━]", piece):
                if open_cells[column] is not None:
                    columns[column].append(open_cells[column])
                open_cells[column] = None
            elif piece.strip():
                if open_cells[column] is None:
                    open_cells[column] = (number, [])
                open_cells[column][1].append(piece.strip())
            elif open_cells[column] is None:
                open_cells[column] = (number, [])
    for column in range(width):
        if open_cells[column] is not None:
            columns[column].append(open_cells[column])
    columns = [[cell for cell in cells if cell[1]] for cells in columns]
    if not all(columns):
        return None
    header = [compact("".join(cells[0][1])) for cells in columns]
    bodies = [cells[1:] for cells in columns]
    rows_column = max(range(width), key=lambda column: len(bodies[column]))
    rows: list[tuple[int, list[str]]] = [(first, header)]
    taken = [set() for _ in range(width)]
    for start, text_lines in bodies[rows_column]:
        cells = []
        for column in range(width):
            if column == rows_column:
                cells.append(_joined(text_lines))
                continue
            beside = _cell_beside(bodies[column], start)
            if beside is None or beside in taken[column]:
                cells.append("")
            else:
                taken[column].add(beside)
                cells.append(_joined(bodies[column][beside][1]))
        rows.append((start, cells))
    return FlatTable(first, end, rows, closed_rows=True)


def _cell_beside(cells: list[tuple[int, list[str]]], line: int) -> int | None:
    """The cell of a column that is beside ``line``: the last one begun on or before it."""
    found = None
    for position, (start, _lines) in enumerate(cells):
        if start <= line:
            found = position
    return found


def _joined(text_lines: list[str]) -> str:
    """A cell's lines joined back where the cell's width wrapped them; a bullet starts a line."""
    text = ""
    for line in text_lines:
        text += ("\n" if text and _BULLET_START.match(line) else "") + line
    return text

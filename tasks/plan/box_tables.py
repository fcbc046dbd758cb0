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
first line (a cell merged down several rows is each one's). A line of one piece is a row across the
table ("一、稳定经济增长"); a page break inside the table (a blank line, "— 3 —") is passed over.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from tasks.plan.subitems import BULLET_MARKS
from tasks.plan.vertical_tables import FlatTable
from tasks.text import compact

_CORNERS_TOP = "┌╔╒╓┏"
_CORNERS_BOTTOM = "└╚╘╙┗"
_BARS = "│║┃├┤┼┬┴┌┐└┘╠╣╬╦╩╔╗╚╝╟╢╫╞╡╪╤╧╥╨╒╓╕╖╘╙╛╜┝┥┿┣┫╋┳┻┏┓┗┛"
_SPLIT = re.compile(f"[{_BARS}]")
_RULE = re.compile(r"^[─═━\-\s]+$")
_RULE_STROKE = re.compile("[─═━]")
# A cell's line that begins a list item of its own (a bullet), kept on its own line.
_BULLET_START = re.compile(f"^[{BULLET_MARKS}]")
# A PDF's page number on a line of its own: "— 3 —", "- 3 -".
PAGE_NUMBER = re.compile(r"^[-—–\s]*\d{1,4}[-—–\s]*$")


def find_box_tables(lines: list[str]) -> list[FlatTable]:
    """Every box-drawn table in ``lines``: its header row first, then its rows, each closed by its
    rules (``closed_rows``: none is the wrapped end of the row above)."""
    tables: list[FlatTable] = []
    index = 0
    while index < len(lines):
        if not lines[index].strip().startswith(tuple(_CORNERS_TOP)):
            index += 1
            continue
        end = index + 1
        while end < len(lines):
            line = lines[end].strip()
            if not line or PAGE_NUMBER.match(line):
                # A page break: the table goes on if its next line is one of its own.
                following = next((j for j in range(end, len(lines))
                                  if lines[j].strip() and not PAGE_NUMBER.match(lines[j].strip())), None)
                if following is None or lines[following].strip()[:1] not in _BARS:
                    break
                end = following
                continue
            if line[:1] not in _BARS:
                break
            end += 1
            if line.startswith(tuple(_CORNERS_BOTTOM)):
                break
        if (table := _read(lines, index, end)) is not None:
            tables.append(table)
        index = end
    return tables


def _pieces(line: str) -> list[str]:
    stripped = line.strip()
    return _SPLIT.split(stripped)[1:-1]


def _ruled(piece: str) -> bool:
    return bool(_RULE.match(piece) and _RULE_STROKE.search(piece))


def _is_rule(pieces: list[str]) -> bool:
    """A line of rules only, perhaps with blank cells beside them."""
    return any(_ruled(piece) for piece in pieces) and all(_ruled(piece) or not piece.strip() for piece in pieces)


def _read(lines: list[str], first: int, end: int) -> FlatTable | None:
    pieces_of = {number: _pieces(lines[number]) for number in range(first, end)}
    rules = [number for number in range(first, end) if _is_rule(pieces_of[number])]
    width = max((len(pieces_of[number]) for number in rules), default=0)
    if width < 2:
        return None
    # A rule line is drawn of box characters only, so its junctions stand where the columns part: a
    # line cut into fewer pieces (a header's "责任单位" over 牵头 and 配合) is placed by the junctions of
    # a rule cut as it is.
    junctions: dict[int, list[int]] = {}
    for number in rules:
        stripped = lines[number].strip()
        junctions.setdefault(len(pieces_of[number]), [m.start() for m in _SPLIT.finditer(stripped)])

    def placed(pieces: list[str]) -> list[str] | None:
        if len(pieces) == width:
            return pieces
        if len(pieces) not in junctions or width not in junctions:
            return None
        own, body = junctions[len(pieces)], junctions[width]
        cells = [""] * width
        for piece, left in zip(pieces, own, strict=False):
            cells[next((j for j, start in enumerate(body[:-1]) if start >= left), width - 1)] = piece
        return cells

    # The header is all above the first rule across every column; without one, each column's first cell.
    # (A rule under part of the header, with the text of its other cells top-aligned beside it, is not it.)
    header_end = next((number for number in rules if number > first and len(pieces_of[number]) == width
                       and all(piece.strip() for piece in pieces_of[number])), first)
    header_names = [""] * width
    for number in range(first + 1, header_end):
        for column, piece in enumerate(placed(pieces_of[number]) or []):
            if piece.strip() and not _ruled(piece):
                header_names[column] += compact(piece)
    # Per column, its cells: (the line its words begin on, its lines).
    columns: list[list[tuple[int, list[str]]]] = [[] for _ in range(width)]
    open_cells: list[tuple[int, list[str]] | None] = [None] * width
    across: list[tuple[int, str]] = []  # rows across the table: (line, words)

    def close_all() -> None:
        for column in range(width):
            if open_cells[column] is not None:
                columns[column].append(open_cells[column])
            open_cells[column] = None

    for number in range(header_end + 1, end):
        if not lines[number].strip() or PAGE_NUMBER.match(lines[number].strip()):
            close_all()  # a page ends its rows, ruled or not
            continue
        pieces = pieces_of[number]
        cells = placed(pieces)
        if cells is None or (len(pieces) != width and _is_rule(pieces)):
            if _is_rule(pieces):
                close_all()  # a rule drawn differently ("├────┴───┤"): every cell ends here
            elif len(pieces) == 1:
                close_all()
                across.append((number, pieces[0].strip()))
            continue  # (other lines the conversion broke differently cannot be placed)
        for column, piece in enumerate(cells):
            if _ruled(piece):
                if open_cells[column] is not None:
                    columns[column].append(open_cells[column])
                open_cells[column] = None
            elif piece.strip():
                if open_cells[column] is None:
                    open_cells[column] = (number, [])
                open_cells[column][1].append(piece.strip())
            elif open_cells[column] is None:
                open_cells[column] = (number, [])
    close_all()
    # (A cell ruled off with nothing in it stays, empty: the one above does not reach over it.)
    if header_end == first:
        # No rule under the header: each column's first cell names it.
        columns = [[cell for cell in cells if cell[1]] for cells in columns]
        header_names = [compact("".join(cells[0][1])) if cells else "" for cells in columns]
        columns = [cells[1:] for cells in columns]
    if not any(columns):
        return None
    rows_column = max(range(width), key=lambda column: len([cell for cell in columns[column] if cell[1]]))
    body: list[tuple[int, list[str]]] = []
    starts = [[start for start, _lines in cells] for cells in columns]
    for start, text_lines in [cell for cell in columns[rows_column] if cell[1]]:
        cells = []
        for column in range(width):
            if column == rows_column:
                cells.append(_joined(text_lines))
                continue
            beside = _cell_beside(starts[column], start)
            cells.append(_joined(columns[column][beside][1]) if beside is not None else "")
        body.append((start, cells))
    body += [(line, [words] + [""] * (width - 1)) for line, words in across]
    return FlatTable(first, end, [(first, header_names), *sorted(body, key=lambda row: row[0])], closed_rows=True)


def _cell_beside(starts: list[int], line: int) -> int | None:
    """Of a column's cells (by the lines they begin on, in order), the one beside ``line``: the last
    one begun on or before it (a cell ends where the next begins, so one merged down several rows is
    beside each of them)."""
    position = bisect_right(starts, line) - 1
    return position if position >= 0 else None


def _joined(text_lines: list[str]) -> str:
    """A cell's lines joined back where the cell's width wrapped them; a bullet starts a line."""
    text = ""
    for line in text_lines:
        text += ("\n" if text and _BULLET_START.match(line) else "") + line
    return text
